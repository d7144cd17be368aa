//! dorun: a declarative task runner whose first-class job is a stack of Docker images.
//! `main_entry` parses the command line, runs it and maps errors to the documented exit codes.
pub(crate) mod app;
pub(crate) mod atomic_file;
pub(crate) mod ci;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod dag;
pub(crate) mod error;
pub(crate) mod exec;
pub(crate) mod fingerprint;
pub(crate) mod graph;
pub(crate) mod init;
pub(crate) mod report;
pub(crate) mod session;
pub(crate) mod stack;
pub(crate) mod state;
pub(crate) mod stdout;
pub(crate) mod sync;

use clap::Parser;

// The library's API beyond `main_entry`: the loaders, as the binary runs them, for the
// in-process property tests (tests/integration/properties.rs).
pub use config::load as load_tasks_toml;
pub use error::{Error, Result};
pub use graph::Graph;
/// The keys each table of tasks.toml knows, for tests that generate tasks.toml files: the one
/// list the unknown-key warning also checks against.
pub mod schema_keys {
    pub use crate::config::unknown_keys::{
        BUDGETS, CI, IMAGE, IMAGE_PLAN, MANIFEST, PLAN, SECRET, SETTINGS, STACK, TASK, TEST_LIMITS,
    };
}
/// The `checks.toml` loader of image tests.
pub mod checks {
    pub use crate::stack::test::checks::{load, parse};
}

pub fn main_entry() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match app::run(cli) {
        Ok(()) => 0,
        // The failures were already reported task by task.
        Err(error::Error::TasksFailed) => 1,
        Err(e) => {
            eprintln!("dorun: error: {e}");
            e.exit_code()
        }
    }
}
