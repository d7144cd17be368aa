//! Everything the user sees while tasks run: one `Reporter` per run, chosen from --progress.
//! Only the coordinator calls it, so output never interleaves.
pub(crate) mod plain;
pub(crate) mod run_json;
pub(crate) mod tty;

use crate::cli::Progress;
use crate::exec::step::Step;
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    Ran,
    UpToDate,
    Failed,
    Skipped,
}

impl Status {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Status::Ran => "ran",
            Status::UpToDate => "up-to-date",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// One finished task as the reporter and run.json see it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct TaskResult {
    pub name: String,
    pub status: Status,
    pub reason: String,
    pub seconds: f64,
    pub exit_code: Option<i32>,
    #[serde(skip)]
    pub log: Option<std::path::PathBuf>,
    #[serde(skip)]
    pub is_group: bool,
}

pub(crate) trait Reporter: Send {
    fn begin(&mut self, total: usize);
    fn started(&mut self, name: &str, why: &str);
    fn step(&mut self, name: &str, step: &Step);
    fn finished(&mut self, result: &TaskResult, log_tail: Option<&str>);
    fn message(&mut self, text: &str);
    fn end(&mut self, results: &[TaskResult]);
}

pub(crate) fn reporter(progress: Progress, verbose: bool) -> Box<dyn Reporter> {
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal();
    match progress {
        Progress::Quiet => Box::new(plain::Plain::new(verbose, color, true)),
        Progress::Plain => Box::new(plain::Plain::new(verbose, false, false)),
        Progress::Tty => Box::new(tty::Tty::new(verbose, color)),
        Progress::Auto if std::io::stderr().is_terminal() => {
            Box::new(tty::Tty::new(verbose, color))
        }
        Progress::Auto => Box::new(plain::Plain::new(verbose, false, false)),
    }
}

/// The closing lines every reporter prints: failures and skips, then the counts.
pub(crate) fn summary_lines(results: &[TaskResult]) -> Vec<String> {
    let count = |s: Status| {
        results
            .iter()
            .filter(|r| !r.is_group && r.status == s)
            .count()
    };
    let mut lines = Vec::new();
    let failed: Vec<&TaskResult> = results
        .iter()
        .filter(|r| !r.is_group && r.status == Status::Failed)
        .collect();
    let skipped: Vec<&TaskResult> = results
        .iter()
        .filter(|r| !r.is_group && r.status == Status::Skipped)
        .collect();
    if !failed.is_empty() {
        lines.push(format!("failed ({}):", failed.len()));
        for r in failed {
            lines.push(format!("  {}: {}", r.name, r.reason));
        }
    }
    if !skipped.is_empty() {
        lines.push(format!("skipped ({}):", skipped.len()));
        for r in skipped {
            lines.push(format!("  {}: {}", r.name, r.reason));
        }
    }
    lines.push(format!(
        "{} ran, {} up to date, {} failed, {} skipped",
        count(Status::Ran),
        count(Status::UpToDate),
        count(Status::Failed),
        count(Status::Skipped)
    ));
    lines
}

pub(crate) fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}
