//! Terminal progress with indicatif: an overall bar, one line per running task with its step
//! and elapsed time; finished tasks scroll above the bars.
use super::{paint, summary_lines, Reporter, Status, TaskResult};
use crate::exec::step::{Step, StepPhase};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::time::Duration;

pub(crate) struct Tty {
    verbose: bool,
    color: bool,
    multi: MultiProgress,
    overall: ProgressBar,
    running: HashMap<String, ProgressBar>,
}

impl Tty {
    pub(crate) fn new(verbose: bool, color: bool) -> Tty {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} tasks").unwrap(),
        );
        Tty {
            verbose,
            color,
            multi,
            overall,
            running: HashMap::new(),
        }
    }

    fn println(&self, line: &str) {
        let _ = self.multi.println(line);
    }
}

impl Reporter for Tty {
    fn begin(&mut self, total: usize) {
        self.overall.set_length(total as u64);
        self.overall.enable_steady_tick(Duration::from_millis(200));
    }

    fn started(&mut self, name: &str, why: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {prefix} {msg} ({elapsed})").unwrap(),
        );
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if self.verbose && !why.is_empty() {
            self.println(&format!(
                "{} {name}: {why}",
                paint(self.color, "36", "start")
            ));
        }
        self.running.insert(name.to_string(), bar);
    }

    /// The bar shows the step that runs: `[3/7] RUN pip install …`.
    fn step(&mut self, name: &str, step: &Step) {
        if step.phase != StepPhase::Started {
            return;
        }
        if let Some(bar) = self.running.get(name) {
            let text: String = step.text.chars().take(60).collect();
            let ellipsis = if step.text.chars().count() > 60 {
                "…"
            } else {
                ""
            };
            bar.set_message(format!("[{}/{}] {text}{ellipsis}", step.n, step.m));
        }
    }

    fn finished(&mut self, r: &TaskResult, log_tail: Option<&str>) {
        if let Some(bar) = self.running.remove(&r.name) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        if r.is_group {
            return;
        }
        self.overall.inc(1);
        let line = match r.status {
            Status::Ran => format!(
                "{} {} ({:.1}s)",
                paint(self.color, "32", "ok   "),
                r.name,
                r.seconds
            ),
            Status::UpToDate if self.verbose => {
                format!("{} {}", paint(self.color, "2", "fresh"), r.name)
            }
            Status::UpToDate => return,
            Status::Failed => format!(
                "{} {}: {}",
                paint(self.color, "31", "FAIL "),
                r.name,
                r.reason
            ),
            Status::Skipped => format!(
                "{} {}: {}",
                paint(self.color, "33", "skip "),
                r.name,
                r.reason
            ),
        };
        self.println(&line);
        if let Some(tail) = log_tail {
            for l in tail.lines() {
                self.println(&format!("  | {l}"));
            }
            if let Some(log) = &r.log {
                self.println(&format!("  (full log: {})", log.display()));
            }
        }
    }

    fn message(&mut self, text: &str) {
        self.println(text);
    }

    fn end(&mut self, results: &[TaskResult]) {
        self.overall.finish_and_clear();
        for l in summary_lines(results) {
            eprintln!("{l}");
        }
    }
}
