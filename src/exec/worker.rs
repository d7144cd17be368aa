//! One task on a worker thread (`workers`): decides it (`decide::decide`), runs it when the
//! decision says it is stale, records the result, and only sends messages back to the
//! coordinator.
use super::decide::{decide, Job};
use super::runner::Shared;
use super::step::Step;
use super::work::{self, TaskError};
use crate::config::Project;
use crate::fingerprint::{reason, Hash, TaskRecord};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Instant;

/// What a worker tells the coordinator.
pub(crate) enum Msg {
    Started { node: usize, why: String },
    Step { node: usize, step: Step },
    Finished { node: usize, outcome: Outcome },
}

pub(crate) enum Outcome {
    UpToDate {
        result: Hash,
    },
    Ran {
        result: Hash,
        why: String,
        seconds: f64,
    },
    Failed {
        message: String,
        exit_code: Option<i32>,
        seconds: f64,
        log: Option<PathBuf>,
        /// The engine or registry did not answer (see `TaskError::environment`).
        environment: bool,
    },
}

pub(crate) fn log_path(project: &Project, name: &str) -> PathBuf {
    project
        .root
        .join(&project.settings.logs_dir)
        .join(format!("{}.log", name.replace(':', "/")))
}

/// Decides and maybe runs `job` on this thread, then tells the coordinator how it ended.
pub(super) fn work_on(shared: &Shared, job: Job, tx: &mpsc::Sender<Msg>) {
    let node = job.node;
    // A panic must still end the task, or the coordinator would wait for it forever.
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(shared, job, tx)))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Outcome::Failed {
                    message: format!("internal error (a bug in dorun): {what}"),
                    exit_code: None,
                    seconds: 0.0,
                    log: None,
                    environment: false,
                }
            });
    if matches!(outcome, Outcome::UpToDate { .. } | Outcome::Ran { .. }) {
        if let Some(hook) = &shared.on_success {
            hook(node);
        }
    }
    let _ = tx.send(Msg::Finished { node, outcome });
}

fn run_one(shared: &Shared, mut job: Job, tx: &mpsc::Sender<Msg>) -> Outcome {
    let node = job.node;
    let name = &shared.graph.nodes[node].name;
    let work = shared.works[node]
        .as_ref()
        .expect("every task node has work");
    let step_tx = std::sync::Mutex::new(tx.clone());
    let on_step = move |step: Step| {
        let _ = crate::sync::lock(&step_tx).send(Msg::Step { node, step });
    };
    let cx = job.cx(shared, &on_step);
    let started = Instant::now();
    let failed = |e: TaskError, log: Option<PathBuf>| Outcome::Failed {
        message: e.message,
        exit_code: e.exit_code,
        seconds: started.elapsed().as_secs_f64(),
        log,
        environment: e.environment,
    };
    let decision = match decide(shared, &job, &cx) {
        Ok(d) => d,
        Err(e) => return failed(e, None),
    };
    if decision.is_up_to_date() {
        let result = decision.result_without_running(&shared.state, name);
        return Outcome::UpToDate { result };
    }
    let why = reason::summarize(&decision.reasons);
    let _ = tx.send(Msg::Started {
        node,
        why: why.clone(),
    });
    // From here until the new record is saved, the task must not look done.
    if let Err(e) = shared.state.forget(name) {
        return failed(TaskError::new(e.to_string()), None);
    }
    let log_file = log_path(&shared.project, name);
    let mut log = match open_log(&log_file) {
        Ok(f) => f,
        Err(e) => {
            return failed(
                TaskError::new(format!("cannot write {}: {e}", log_file.display())),
                None,
            )
        }
    };
    match work.execute(&cx, &decision, &mut log) {
        Ok(_) if shared.procs.interrupted.load(Ordering::SeqCst) => {
            failed(TaskError::new("interrupted"), Some(log_file))
        }
        Ok(produced) => {
            let seconds = started.elapsed().as_secs_f64();
            let record = TaskRecord {
                fingerprint: decision.fingerprint,
                outputs: produced.outputs,
                extra: produced.extra,
                seconds,
                finished_at: work::now_unix(),
            };
            if let Err(e) = shared.state.save(name, &record) {
                return failed(
                    TaskError::new(format!("cannot record the result: {e}")),
                    Some(log_file),
                );
            }
            Outcome::Ran {
                result: record.result_digest(),
                why,
                seconds,
            }
        }
        Err(e) => failed(e, Some(log_file)),
    }
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::File::options()
        .create(true)
        .write(true)
        .truncate(true)
        .read(true)
        .open(path)
}

/// The last `lines` lines of a log, read from its end so a huge log costs nothing.
pub(crate) fn log_tail(path: &Path, lines: usize) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(16 * 1024);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}
