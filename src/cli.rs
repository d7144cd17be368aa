//! Command-line types (clap derive) and nothing else: SPEC §2.
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "dorun",
    version,
    about = "Keeps a stack of Docker images built, tested and published with the least work possible"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Tasks to run (names, subtasks such as build:base@py311, or globs such as 'test:*')
    pub tasks: Vec<String>,

    #[command(flatten)]
    pub run: RunOptions,

    #[command(flatten)]
    pub global: GlobalOptions,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct GlobalOptions {
    /// Path of tasks.toml (default: ./tasks.toml, searched upward)
    #[arg(short = 'f', long = "file", global = true)]
    pub file: Option<PathBuf>,
    /// Change to DIR before doing anything
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// Progress display
    #[arg(long, global = true, env = "DORUN_PROGRESS", value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Print why each task runs
    #[arg(short = 'v', long = "verbose", global = true)]
    pub verbose: bool,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct RunOptions {
    /// Number of tasks run at once (default: settings.jobs or the CPU count)
    #[arg(short = 'j', long = "jobs", env = "DORUN_JOBS")]
    pub jobs: Option<usize>,
    /// Run everything that does not depend on a failure
    #[arg(short = 'k', long = "keep-going")]
    pub keep_going: bool,
    /// Treat the selected tasks as stale
    #[arg(short = 'B', long = "force")]
    pub force: bool,
    /// Build images without the builder cache (every step runs again)
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Do not run the dependencies of the selected tasks
    #[arg(long)]
    pub only: bool,
    /// Pull the external base images the builds use, moving their local tags (docker build --pull)
    #[arg(long)]
    pub pull: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Progress {
    #[default]
    Auto,
    Tty,
    Plain,
    Quiet,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run tasks (same as `dorun TASK...`)
    Run {
        tasks: Vec<String>,
        #[command(flatten)]
        run: RunOptions,
    },
    /// List tasks with their doc line and status
    List {
        /// Include subtasks (build:base, ...)
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show a task's status and the reason it would run
    Info {
        #[arg(required = true)]
        tasks: Vec<String>,
    },
    /// Dry run: what would run, in which order, and why
    Plan {
        tasks: Vec<String>,
        #[arg(long)]
        json: bool,
        /// Treat the selected tasks as stale
        #[arg(short = 'B', long = "force")]
        force: bool,
        /// Do not include the dependencies of the selected tasks
        #[arg(long)]
        only: bool,
    },
    /// Drop recorded state so the tasks run next time
    Forget {
        tasks: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    /// Delete the declared outputs of tasks
    Clean {
        tasks: Vec<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove the local images dorun built for this project that no current identity names
    Prune {
        /// List them, remove nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the task graph
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        tasks: Vec<String>,
    },
    /// Write a commented starter tasks.toml
    Init,
    /// Write the CI configuration of the project's image stack
    Ci {
        #[command(subcommand)]
        target: CiTarget,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum CiTarget {
    /// A GitHub Actions workflow: one job per image needing its parent's, then a push job
    Github {
        /// Write the workflow to PATH (atomically) instead of stdout
        #[arg(long, value_name = "PATH")]
        output: Option<std::path::PathBuf>,
    },
}
