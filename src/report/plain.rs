//! One line per event, no control codes: for CI logs and pipes (`--progress plain`), and the
//! quiet mode that prints only failures and the summary.
use super::{paint, summary_lines, Reporter, Status, TaskResult};
use crate::exec::step::{Step, StepPhase};

pub(crate) struct Plain {
    verbose: bool,
    color: bool,
    quiet: bool,
}

impl Plain {
    pub(crate) fn new(verbose: bool, color: bool, quiet: bool) -> Plain {
        Plain {
            verbose,
            color,
            quiet,
        }
    }
}

impl Reporter for Plain {
    fn begin(&mut self, _total: usize) {}

    fn started(&mut self, name: &str, why: &str) {
        if self.quiet {
            return;
        }
        if self.verbose && !why.is_empty() {
            eprintln!("{} {name}: {why}", paint(self.color, "36", "start"));
        } else {
            eprintln!("{} {name}", paint(self.color, "36", "start"));
        }
    }

    /// One line when a step starts and one when it finishes, with the task's name: what
    /// `docker build --progress plain` shows, per image.
    fn step(&mut self, name: &str, step: &Step) {
        if self.quiet {
            return;
        }
        let Step { n, m, text, phase } = step;
        match phase {
            StepPhase::Started => eprintln!("  {name} [{n}/{m}] {text}"),
            StepPhase::Finished { cached: true, .. } => {
                eprintln!("  {name} [{n}/{m}] {}", paint(self.color, "2", "cached"));
            }
            StepPhase::Finished { seconds, .. } => {
                eprintln!("  {name} [{n}/{m}] done ({seconds:.1}s)");
            }
        }
    }

    fn finished(&mut self, r: &TaskResult, log_tail: Option<&str>) {
        if r.is_group {
            return;
        }
        let line = match r.status {
            Status::Ran if !self.quiet => Some(format!(
                "{} {} ({:.1}s)",
                paint(self.color, "32", "ok   "),
                r.name,
                r.seconds
            )),
            Status::UpToDate if self.verbose && !self.quiet => {
                Some(format!("{} {}", paint(self.color, "2", "fresh"), r.name))
            }
            Status::Failed => Some(format!(
                "{} {}: {}",
                paint(self.color, "31", "FAIL "),
                r.name,
                r.reason
            )),
            Status::Skipped if !self.quiet => Some(format!(
                "{} {}: {}",
                paint(self.color, "33", "skip "),
                r.name,
                r.reason
            )),
            _ => None,
        };
        if let Some(line) = line {
            eprintln!("{line}");
        }
        if let Some(tail) = log_tail {
            for l in tail.lines() {
                eprintln!("  | {l}");
            }
            if let Some(log) = &r.log {
                eprintln!("  (full log: {})", log.display());
            }
        }
    }

    fn message(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn end(&mut self, results: &[TaskResult]) {
        let lines = summary_lines(results);
        let failures = lines.len() > 1;
        if self.quiet && !failures {
            return;
        }
        for l in lines {
            eprintln!("{l}");
        }
    }
}
