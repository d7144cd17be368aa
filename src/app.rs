//! The commands of SPEC §2 on top of the library: load the project, build the graph, dispatch.
use crate::cli::{Cli, Command, GlobalOptions, GraphFormat, RunOptions};
use crate::config::{self, Project};
use crate::error::{Error, Result};
use crate::exec::plan::{predict, Prediction};
use crate::exec::procs::Procs;
use crate::exec::runner::{self, Shared};
use crate::exec::shell::ShellWork;
use crate::exec::work::Work;
use crate::fingerprint::{reason, StatCache};
use crate::graph::{Action, Graph};
use crate::report::{self, Status};
use crate::state::State;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn run(cli: Cli) -> Result<()> {
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
    let project = config::load(&file)?;
    for w in &project.warnings {
        eprintln!("{w}");
    }
    let graph = Graph::build(&project)?;
    let session = Session::new(project, graph)?;
    match command {
        None => {
            let tasks = if tasks.is_empty() {
                session.shared.project.settings.default_tasks()
            } else {
                tasks
            };
            session.run_tasks(&tasks, &run, &global)
        }
        Some(Command::Run { tasks, run }) => session.run_tasks(&tasks, &run, &global),
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
        Some(Command::Graph { format, tasks }) => {
            crate::commands::graph(&session, &tasks, format == GraphFormat::Mermaid)
        }
        Some(Command::Init) => unreachable!("handled above"),
    }
}

/// A loaded project with its graph and the shared pieces every command uses.
pub struct Session {
    pub shared: Arc<Shared>,
    pub stack: crate::stack::Stack,
}

impl Session {
    fn new(project: Project, graph: Graph) -> Result<Session> {
        let project = Arc::new(project);
        let state = Arc::new(State::new(project.root.join(&project.settings.state_dir)));
        let cache = Arc::new(StatCache::load(&state.stat_cache_path()));
        let procs = Arc::new(Procs::default());
        let images = crate::stack::stack(&project)?;
        let works: Vec<Option<Arc<dyn Work>>> = graph
            .nodes
            .iter()
            .map(|n| match &n.action {
                Action::Group => None,
                Action::Shell(spec) => {
                    Some(Arc::new(ShellWork { spec: spec.clone() }) as Arc<dyn Work>)
                }
                Action::Image(job) => Some(images.work(job)),
            })
            .collect();
        Ok(Session {
            shared: Arc::new(Shared {
                project,
                graph: Arc::new(graph),
                state,
                cache,
                procs,
                works,
                on_interrupt: images.interrupt_hook(),
            }),
            stack: images,
        })
    }

    /// Half-written files of a killed run: its temp files in the state, artifacts and
    /// manifests dirs. Called under the project lock.
    fn sweep_temp_files(&self) {
        let project = &self.shared.project;
        let settings = &project.settings;
        let dirs: Vec<PathBuf> = [
            &settings.state_dir,
            &settings.artifacts_dir,
            &settings.manifests_dir,
        ]
        .into_iter()
        .map(|d| project.root.join(d))
        .collect();
        crate::state::sweep_temp_files(&dirs);
    }

    pub fn graph(&self) -> &Graph {
        &self.shared.graph
    }

    /// Selected nodes (all declared tasks when `patterns` is empty) and their closure.
    pub fn selection(&self, patterns: &[String], only: bool) -> Result<(Vec<usize>, Vec<usize>)> {
        let roots = if patterns.is_empty() {
            let g = self.graph();
            (0..g.nodes.len())
                .filter(|&i| g.nodes[i].parent_task.is_none())
                .collect()
        } else {
            self.graph().select(patterns)?
        };
        let order = self.graph().closure(&roots, only);
        Ok((roots, order))
    }

    /// -B applies to the selected tasks and, for a builtin's name, to its subtasks.
    pub fn forced(&self, roots: &[usize], force: bool) -> Vec<bool> {
        let g = self.graph();
        let mut forced = vec![false; g.nodes.len()];
        if force {
            for &r in roots {
                forced[r] = true;
                if matches!(g.nodes[r].action, Action::Group) {
                    for &d in &g.nodes[r].deps {
                        forced[d] = true;
                    }
                }
            }
        }
        forced
    }

    /// The stack runtime, when any of `order` is an image task.
    fn images_in(&self, order: &[usize]) -> Option<&crate::stack::runtime::Runtime> {
        let rt = self.stack.rt.as_deref()?;
        order
            .iter()
            .any(|&n| matches!(self.graph().nodes[n].action, Action::Image(_)))
            .then_some(rt)
    }

    /// Image tasks need the engine (and registry): check once, up front, for exit code 3.
    pub fn preflight(&self, order: &[usize]) -> Result<()> {
        match self.images_in(order) {
            Some(rt) => rt.preflight(),
            None => Ok(()),
        }
    }

    /// For `list` and `info`, which answer from local state what needs no engine or registry:
    /// why the engine or registry is unavailable, if it is (said once, on stderr).
    pub fn environment_note(&self, order: &[usize]) -> Option<String> {
        let why = self.images_in(order)?.check_environment()?;
        eprintln!("dorun: warning: {why}\n  statuses that depend on it are shown as unknown");
        Some(why)
    }

    pub fn predict(&self, order: &[usize], forced: &[bool]) -> Vec<Prediction> {
        predict(&self.shared, order, forced)
    }

    fn run_tasks(
        &self,
        patterns: &[String],
        run: &RunOptions,
        global: &GlobalOptions,
    ) -> Result<()> {
        if patterns.is_empty() {
            return Err(Error::Usage(
                "no task given and settings.default is empty: name a task (see `dorun list`)"
                    .into(),
            ));
        }
        install_signal_handlers(&self.shared.procs);
        let (roots, order) = self.selection(patterns, run.only)?;
        self.preflight(&order)?;
        let _lock = self.shared.state.lock()?;
        self.sweep_temp_files();
        let jobs = run
            .jobs
            .or(self.shared.project.settings.jobs)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            })
            .max(1);
        let opts = runner::RunOptions {
            jobs,
            keep_going: run.keep_going,
            forced: self.forced(&roots, run.force),
        };
        let mut reporter = report::reporter(global.progress, global.verbose);
        if let Some(rt) = self.images_in(&order) {
            // Holding the lock, no other run of this project is alive: containers of other
            // runs are leftovers of a killed dorun.
            match rt.sweep_dead_runs()? {
                0 => {}
                1 => reporter.message("removed 1 container left by a killed dorun run"),
                n => reporter.message(&format!("removed {n} containers left by killed dorun runs")),
            }
        }
        let started = std::time::Instant::now();
        let started_at = crate::exec::work::now_unix();
        let summary = runner::run(self.shared.clone(), &order, &opts, reporter.as_mut());
        self.print_test_summary(&order, global);
        let exit = if summary.interrupted {
            Error::Interrupted.exit_code()
        } else if summary.environment.is_some() {
            3
        } else if summary.failed() {
            1
        } else {
            0
        };
        let project = &self.shared.project;
        let run_json = project
            .root
            .join(&project.settings.artifacts_dir)
            .join("run.json");
        report::run_json::write(
            &run_json,
            started_at,
            started.elapsed().as_secs_f64(),
            exit,
            &summary.results,
        )
        .map_err(|e| Error::io(&run_json, e))?;
        match (exit, summary.environment) {
            (0, _) => Ok(()),
            (130, _) => Err(Error::Interrupted),
            (3, Some(why)) => Err(Error::Environment(why)),
            _ => Err(Error::TasksFailed),
        }
    }
}

impl Session {
    /// After a run that tested images, one table of every image's test results.
    fn print_test_summary(&self, order: &[usize], global: &GlobalOptions) {
        let tested = order.iter().any(|&n| {
            matches!(&self.graph().nodes[n].action,
                Action::Image(job) if job.builtin == crate::config::Builtin::Test)
        });
        if !tested || global.progress == crate::cli::Progress::Quiet {
            return;
        }
        if let Some(rt) = &self.stack.rt {
            if let Some(table) = crate::stack::test::summary_table(rt, &self.shared.cache) {
                eprintln!("{table}");
            }
        }
    }
}

/// Ctrl-C, `kill` and a closed terminal all stop the run the same way: running commands and
/// containers are ended, nothing unfinished is recorded, exit code 130.
fn install_signal_handlers(procs: &Procs) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let _ = signal_hook::flag::register(sig, procs.interrupted.clone());
    }
}

/// Reasons as one line, for `plan`, `info` and `-v`.
pub fn describe(p: &Prediction) -> String {
    if let Some(e) = &p.error {
        return match p.environment {
            true => format!("unknown: {e}"),
            false => format!("cannot decide: {e}"),
        };
    }
    if p.reasons.is_empty() {
        return "up to date".into();
    }
    reason::summarize(&p.reasons)
}

pub fn status_word(p: &Prediction, ever_ran: bool) -> &'static str {
    if p.environment {
        "unknown"
    } else if !p.stale() {
        Status::UpToDate.word()
    } else if ever_ran {
        "stale"
    } else {
        "never run"
    }
}

pub fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}
