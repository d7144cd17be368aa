//! dorun: a declarative task runner whose first-class job is a stack of Docker images.
//! `main_entry` parses the command line, runs it and maps errors to the documented exit codes.
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dag;
pub mod error;
pub mod exec;
pub mod fingerprint;
pub mod graph;
pub mod init;
pub mod report;
pub mod session;
pub mod stack;
pub mod state;

use clap::Parser;

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
