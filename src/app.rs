//! The command line dispatched: load the project, build the graph and session, call the command.
use crate::cli::{CiTarget, Cli, Command, GraphFormat};
use crate::config;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::session::Session;

pub(crate) fn run(cli: Cli) -> Result<()> {
    let Cli {
        command,
        tasks,
        run,
        global,
    } = cli;
    if let Some(dir) = &global.directory {
        std::env::set_current_dir(dir)
            .map_err(|e| Error::Usage(format!("-C {}: {e}", dir.display())))?;
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    if matches!(command, Some(Command::Init)) {
        return crate::init::write_starter(&cwd.join("tasks.toml"));
    }
    let file = config::find_file(global.file.as_deref(), &cwd)?;
    // A run or plan of images first waits on the engine's listing of them: asked for now, it
    // is answered while the project loads.
    let decides_images = matches!(
        command,
        None | Some(Command::Run { .. } | Command::Plan { .. })
    );
    let early_listing = decides_images
        .then(|| crate::stack::early_listing::EarlyListing::start(&file))
        .flatten();
    let project = config::load(&file)?;
    for w in &project.warnings {
        eprintln!("{w}");
    }
    let graph = Graph::build(&project)?;
    let session = Session::new(project, graph, early_listing)?;
    match command {
        None => {
            let tasks = if tasks.is_empty() {
                session.shared.project.settings.default_tasks()
            } else {
                tasks
            };
            crate::commands::run::run(&session, &tasks, &run, &global)
        }
        Some(Command::Run { tasks, run }) => {
            crate::commands::run::run(&session, &tasks, &run, &global)
        }
        Some(Command::List { all, json }) => crate::commands::list(&session, all, json),
        Some(Command::Info { tasks }) => crate::commands::info(&session, &tasks),
        Some(Command::Plan {
            tasks,
            json,
            force,
            only,
        }) => crate::commands::plan(&session, &tasks, json, force, only),
        Some(Command::Forget { tasks, all }) => crate::commands::forget(&session, &tasks, all),
        Some(Command::Clean { tasks, dry_run }) => {
            crate::commands::clean(&session, &tasks, dry_run)
        }
        Some(Command::Prune { dry_run }) => crate::commands::prune::prune(&session, dry_run),
        Some(Command::Graph { format, tasks }) => {
            crate::commands::graph(&session, &tasks, format == GraphFormat::Mermaid)
        }
        Some(Command::Ci {
            target: CiTarget::Github { output },
        }) => crate::ci::github(&session, output.as_deref()),
        Some(Command::Init) => unreachable!("handled above"),
    }
}
