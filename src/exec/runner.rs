//! The coordinator: owns the queue, the reporter, run.json and the per-node results; workers
//! decide and run one task each on their own thread and only send messages back (cargo's
//! job_queue). A failure is recorded and its dependents skipped; the loop never bails out early.
use super::procs::Procs;
use super::queue::Queue;
use super::work::{self, decide, TaskCx, TaskError, Work};
use crate::config::Project;
use crate::fingerprint::{reason, Hash, StatCache, TaskRecord};
use crate::graph::{Action, Graph};
use crate::report::{Reporter, Status, TaskResult};
use crate::state::State;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an interrupted run waits for running tasks before it gives up on them.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

pub struct RunOptions {
    pub jobs: usize,
    pub keep_going: bool,
    /// Nodes treated as stale whatever their fingerprint says.
    pub forced: Vec<bool>,
}

/// What the workers share, read-only apart from the stat cache and the process registry.
pub struct Shared {
    pub project: Arc<Project>,
    pub graph: Arc<Graph>,
    pub state: Arc<State>,
    pub cache: Arc<StatCache>,
    pub procs: Arc<Procs>,
    pub works: Vec<Option<Arc<dyn Work>>>,
    /// Called once when the run is interrupted (removes live test containers).
    pub on_interrupt: Option<Box<dyn Fn() + Send + Sync>>,
}

enum Msg {
    Started {
        node: usize,
        why: String,
    },
    Step {
        node: usize,
        n: usize,
        m: usize,
        text: String,
    },
    Finished {
        node: usize,
        outcome: Outcome,
    },
}

enum Outcome {
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

pub fn log_path(project: &Project, name: &str) -> PathBuf {
    project
        .root
        .join(&project.settings.logs_dir)
        .join(format!("{}.log", name.replace(':', "/")))
}

pub struct RunSummary {
    pub results: Vec<TaskResult>,
    pub interrupted: bool,
    /// The first failure of the engine or registry to answer: the run stopped there (exit 3).
    pub environment: Option<String>,
}

impl RunSummary {
    pub fn failed(&self) -> bool {
        self.results.iter().any(|r| r.status == Status::Failed)
    }
}

pub fn run(
    shared: Arc<Shared>,
    selected: &[usize],
    opts: &RunOptions,
    reporter: &mut dyn Reporter,
) -> RunSummary {
    let graph = shared.graph.clone();
    let deps: Vec<Vec<usize>> = graph.nodes.iter().map(|n| n.deps.clone()).collect();
    let mut queue = Queue::new(&deps, selected);
    let mut results: Vec<Option<Hash>> = vec![None; graph.nodes.len()];
    let mut task_results: Vec<Option<TaskResult>> = vec![None; graph.nodes.len()];
    let mut ran = vec![false; graph.nodes.len()];
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut running = 0usize;
    let mut stopping_after: Option<String> = None;
    let mut environment: Option<String> = None;
    let mut interrupt_at: Option<Instant> = None;
    let mut in_flight = std::collections::BTreeSet::new();
    let workers = selected
        .iter()
        .filter(|&&n| !matches!(graph.nodes[n].action, Action::Group))
        .count();
    reporter.begin(workers);
    let mut prefetched = prefetch(&shared, selected);

    loop {
        // Start what is ready, up to -j at once.
        while stopping_after.is_none() && interrupt_at.is_none() && running < opts.jobs {
            let Some(n) = queue.pop() else { break };
            let node = &graph.nodes[n];
            let dep_results: Vec<(String, Hash)> = node
                .deps
                .iter()
                .map(|&d| (graph.nodes[d].name.clone(), result_of(&shared, &results, d)))
                .collect();
            if matches!(node.action, Action::Group) {
                // A builtin's name only gathers its subtasks: done as soon as they are.
                let any_ran = node.deps.iter().any(|&d| ran[d]);
                ran[n] = any_ran;
                results[n] = Some(combine(&dep_results));
                task_results[n] = Some(TaskResult {
                    name: node.name.clone(),
                    status: if any_ran {
                        Status::Ran
                    } else {
                        Status::UpToDate
                    },
                    reason: String::new(),
                    seconds: 0.0,
                    exit_code: None,
                    log: None,
                    is_group: true,
                });
                queue.succeeded(n);
                continue;
            }
            running += 1;
            in_flight.insert(n);
            // Inputs hashed at the start are still right unless a dependency just ran.
            let inputs = if node.deps.iter().any(|&d| ran[d]) {
                None
            } else {
                prefetched[n].take()
            };
            let job = Job {
                node: n,
                deps: dep_results,
                force: opts.forced[n],
                prefetched: inputs,
            };
            spawn_worker(shared.clone(), job, tx.clone());
        }
        if running == 0
            && (!queue.has_ready() || stopping_after.is_some() || interrupt_at.is_some())
        {
            break;
        }
        if shared.procs.is_interrupted() && interrupt_at.is_none() {
            interrupt_at = Some(Instant::now());
            reporter.message("interrupted: stopping running tasks");
            shared.procs.signal_all(libc::SIGTERM);
            if let Some(hook) = &shared.on_interrupt {
                hook();
            }
        }
        if let Some(at) = interrupt_at {
            if at.elapsed() > Duration::from_secs(2) {
                shared.procs.signal_all(libc::SIGKILL);
            }
            // A Docker build cannot be killed from here; it stops when dorun exits and the
            // engine sees the connection close. Nothing it does after this is recorded.
            if at.elapsed() > INTERRUPT_GRACE {
                break;
            }
        }
        let msg = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(m) => m,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match msg {
            Msg::Started { node, why } => reporter.started(&graph.nodes[node].name, &why),
            Msg::Step { node, n, m, text } => reporter.step(&graph.nodes[node].name, n, m, &text),
            Msg::Finished { node, outcome } => {
                let mut skipped_now = Vec::new();
                running -= 1;
                in_flight.remove(&node);
                let name = graph.nodes[node].name.clone();
                let (result, tail) = match outcome {
                    Outcome::UpToDate { result } => {
                        results[node] = Some(result);
                        queue.succeeded(node);
                        (
                            task_result(&name, Status::UpToDate, "", 0.0, None, None),
                            None,
                        )
                    }
                    Outcome::Ran {
                        result,
                        why,
                        seconds,
                    } => {
                        results[node] = Some(result);
                        ran[node] = true;
                        queue.succeeded(node);
                        (
                            task_result(&name, Status::Ran, &why, seconds, Some(0), None),
                            None,
                        )
                    }
                    Outcome::Failed {
                        message,
                        exit_code,
                        seconds,
                        log,
                        environment: unavailable,
                    } => {
                        let tail = log.as_ref().and_then(|l| log_tail(l, 20));
                        skipped_now = queue.failed(node);
                        let stops = shared.works[node]
                            .as_ref()
                            .is_none_or(|w| w.failure_stops_run());
                        // Without the engine or registry nothing else can be decided: stop,
                        // even under -k.
                        if unavailable && environment.is_none() {
                            environment = Some(message.clone());
                        }
                        if ((!opts.keep_going && stops) || unavailable) && stopping_after.is_none()
                        {
                            stopping_after = Some(name.clone());
                        }
                        (
                            task_result(&name, Status::Failed, &message, seconds, exit_code, log),
                            tail,
                        )
                    }
                };
                reporter.finished(&result, tail.as_deref());
                task_results[node] = Some(result);
                // After the failure they refer to, so a log reads in order.
                for s in std::mem::take(&mut skipped_now) {
                    let r = task_result(
                        &graph.nodes[s].name,
                        Status::Skipped,
                        &format!("dependency {name} failed"),
                        0.0,
                        None,
                        None,
                    );
                    reporter.finished(&r, None);
                    task_results[s] = Some(r);
                }
            }
        }
    }
    let interrupted = interrupt_at.is_some();
    for &n in &in_flight {
        let r = task_result(
            &graph.nodes[n].name,
            Status::Failed,
            "interrupted while running",
            0.0,
            None,
            None,
        );
        reporter.finished(&r, None);
        task_results[n] = Some(r);
    }
    for n in queue.not_started() {
        let why = if interrupted {
            "not started: interrupted".to_string()
        } else if environment.is_some() {
            format!(
                "not started: {} failed for want of the engine or registry",
                stopping_after.clone().unwrap_or_default()
            )
        } else {
            format!(
                "not started: stopped after {} failed (use -k to keep going)",
                stopping_after.clone().unwrap_or_default()
            )
        };
        let r = task_result(&graph.nodes[n].name, Status::Skipped, &why, 0.0, None, None);
        reporter.finished(&r, None);
        task_results[n] = Some(r);
    }
    let _ = shared.cache.save(&shared.state.stat_cache_path());
    let results: Vec<TaskResult> = selected
        .iter()
        .filter_map(|&n| task_results[n].take())
        .collect();
    reporter.end(&results);
    RunSummary {
        results,
        interrupted,
        environment,
    }
}

fn task_result(
    name: &str,
    status: Status,
    reason: &str,
    seconds: f64,
    exit_code: Option<i32>,
    log: Option<PathBuf>,
) -> TaskResult {
    TaskResult {
        name: name.to_string(),
        status,
        reason: reason.to_string(),
        seconds: (seconds * 1000.0).round() / 1000.0,
        exit_code,
        log,
        is_group: false,
    }
}

/// A dependency's result digest: from this run, or else from its record (`--only`).
fn result_of(shared: &Shared, results: &[Option<Hash>], n: usize) -> Hash {
    if let Some(h) = results[n] {
        return h;
    }
    let node = &shared.graph.nodes[n];
    if matches!(node.action, Action::Group) {
        let deps: Vec<(String, Hash)> = node
            .deps
            .iter()
            .map(|&d| {
                (
                    shared.graph.nodes[d].name.clone(),
                    result_of(shared, results, d),
                )
            })
            .collect();
        return combine(&deps);
    }
    work::recorded_result(&shared.state, &node.name).unwrap_or([0; 32])
}

pub fn combine(deps: &[(String, Hash)]) -> Hash {
    let mut h = blake3::Hasher::new();
    for (name, r) in deps {
        h.update(name.as_bytes());
        h.update(r);
    }
    *h.finalize().as_bytes()
}

/// Hashes every selected task's inputs at once, in parallel (stat cache hits on a no-op run),
/// so up-to-date checks do not wait for one dependency level after another.
fn prefetch(shared: &Shared, selected: &[usize]) -> Vec<Option<Inputs>> {
    use std::sync::atomic::AtomicUsize;
    let out: Vec<std::sync::Mutex<Option<Inputs>>> = (0..shared.graph.nodes.len())
        .map(|_| Default::default())
        .collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Plain scoped threads taking tasks one by one: they exit when the list is done, where an
    // idle thread pool would keep spinning on the cores the run needs next.
    std::thread::scope(|scope| {
        for _ in 0..threads.min(selected.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&n) = selected.get(i) else { break };
                if let Some(work) = &shared.works[n] {
                    *out[n].lock().unwrap() = work.prefetch(&shared.project, &shared.cache);
                }
            });
        }
    });
    out.into_iter().map(|m| m.into_inner().unwrap()).collect()
}

/// Input paths with their content hashes.
type Inputs = Vec<(String, Hash)>;

struct Job {
    node: usize,
    deps: Vec<(String, Hash)>,
    force: bool,
    prefetched: Option<Vec<(String, Hash)>>,
}

fn spawn_worker(shared: Arc<Shared>, job: Job, tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        let node = job.node;
        // A panic must still end the task, or the coordinator would wait for it forever.
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&shared, job, &tx)))
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
        let _ = tx.send(Msg::Finished { node, outcome });
    });
}

fn run_one(shared: &Shared, job: Job, tx: &mpsc::Sender<Msg>) -> Outcome {
    let Job {
        node,
        deps,
        force,
        prefetched,
    } = job;
    let name = &shared.graph.nodes[node].name;
    let work = shared.works[node]
        .as_ref()
        .expect("every task node has work");
    let step_tx = std::sync::Mutex::new(tx.clone());
    let on_step = move |n: usize, m: usize, text: &str| {
        let _ = step_tx.lock().unwrap().send(Msg::Step {
            node,
            n,
            m,
            text: text.to_string(),
        });
    };
    let cx = TaskCx {
        name,
        project: &shared.project,
        state: &shared.state,
        cache: &shared.cache,
        procs: &shared.procs,
        deps,
        on_step: &on_step,
        prefetched: std::sync::Mutex::new(prefetched),
    };
    let started = Instant::now();
    let failed = |e: TaskError, log: Option<PathBuf>| Outcome::Failed {
        message: e.message,
        exit_code: e.exit_code,
        seconds: started.elapsed().as_secs_f64(),
        log,
        environment: e.environment,
    };
    let (fingerprint, reasons) = match decide(work.as_ref(), &cx, force) {
        Ok(d) => d,
        Err(e) => return failed(e, None),
    };
    if reasons.is_empty() {
        let result = shared
            .state
            .load_summary(name)
            .map(|r| r.result_digest)
            .unwrap_or_else(|| fingerprint.digest());
        return Outcome::UpToDate { result };
    }
    let why = reason::summarize(&reasons);
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
    match work.execute(&cx, &mut log) {
        Ok(_) if shared.procs.interrupted.load(Ordering::SeqCst) => {
            failed(TaskError::new("interrupted"), Some(log_file))
        }
        Ok(produced) => {
            let seconds = started.elapsed().as_secs_f64();
            let record = TaskRecord {
                fingerprint,
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

fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
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
pub fn log_tail(path: &std::path::Path, lines: usize) -> Option<String> {
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
