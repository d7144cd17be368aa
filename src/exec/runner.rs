//! The coordinator: owns the queue, the reporter, run.json and the per-node results; workers
//! decide and run one task each on their own thread and only send messages back (cargo's
//! job_queue). A failure is recorded and its dependents skipped; the loop never bails out early.
use super::decide::{Inputs, Results};
use super::procs::Procs;
use super::queue::Queue;
use super::work::Work;
use super::worker::{log_tail, Msg, Outcome};
use super::workers::Workers;
use crate::config::Project;
use crate::fingerprint::StatCache;
use crate::graph::{Action, Graph};
use crate::report::{Reporter, Status, TaskResult};
use crate::state::State;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an interrupted run waits for running tasks before it gives up on them.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);
/// When an interrupted run escalates from SIGTERM to SIGKILL.
const INTERRUPT_KILL: Duration = Duration::from_secs(2);
/// The expected duration of a task never run before, for the queue's critical paths.
const UNKNOWN_COST_MS: u64 = 1000;

pub(crate) struct RunOptions {
    pub jobs: usize,
    pub keep_going: bool,
    /// Nodes treated as stale whatever their fingerprint says.
    pub forced: Vec<bool>,
}

/// What the workers share, read-only apart from the stat cache and the process registry.
pub(crate) struct Shared {
    pub project: Arc<Project>,
    pub graph: Arc<Graph>,
    pub state: Arc<State>,
    pub cache: Arc<StatCache>,
    pub procs: Arc<Procs>,
    pub works: Vec<Option<Arc<dyn Work>>>,
    /// Called once when the run is interrupted (removes live test containers).
    pub on_interrupt: Option<Box<dyn Fn() + Send + Sync>>,
    /// Called with a task's node, on the worker's thread, when it ran or was up to date, before
    /// its dependents may start (`keep-images` removes images no task needs any more).
    pub on_success: Option<Box<dyn Fn(usize) + Send + Sync>>,
}

pub(crate) struct RunSummary {
    pub results: Vec<TaskResult>,
    pub interrupted: bool,
    /// The first failure of the engine or registry to answer: the run stopped there (exit 3).
    pub environment: Option<String>,
}

impl RunSummary {
    pub(crate) fn failed(&self) -> bool {
        self.results.iter().any(|r| r.status == Status::Failed)
    }
}

pub(crate) fn run(
    shared: Arc<Shared>,
    selected: &[usize],
    opts: &RunOptions,
    reporter: &mut dyn Reporter,
) -> RunSummary {
    let mut coordinator = Coordinator::new(shared, selected, opts, reporter);
    coordinator.drive();
    coordinator.finish(selected)
}

/// Why no new task may start any more.
enum Stop {
    /// A task failed without -k (or for want of the engine or registry).
    After(String),
    Interrupted(Instant),
}

struct Coordinator<'a> {
    shared: Arc<Shared>,
    opts: &'a RunOptions,
    reporter: &'a mut dyn Reporter,
    queue: Queue,
    results: Results,
    task_results: Vec<Option<TaskResult>>,
    /// Inputs hashed at the start, handed to each task's first decision.
    prefetched: Vec<Option<Inputs>>,
    /// Nodes whose worker has not reported back yet.
    in_flight: BTreeSet<usize>,
    stop: Option<Stop>,
    /// The first failure of the engine or registry to answer.
    environment: Option<String>,
    workers: Workers,
    rx: mpsc::Receiver<Msg>,
}

impl<'a> Coordinator<'a> {
    fn new(
        shared: Arc<Shared>,
        selected: &[usize],
        opts: &'a RunOptions,
        reporter: &'a mut dyn Reporter,
    ) -> Coordinator<'a> {
        let graph = &shared.graph;
        let tasks = selected
            .iter()
            .filter(|&&n| !matches!(graph.nodes[n].action, Action::Group))
            .count();
        reporter.begin(tasks);
        let (prefetched, cost) = prefetch(&shared, selected);
        let deps: Vec<Vec<usize>> = graph.nodes.iter().map(|n| n.deps.clone()).collect();
        let (tx, rx) = mpsc::channel();
        Coordinator {
            queue: Queue::with_costs(&deps, selected, &cost),
            results: Results::new(graph.nodes.len()),
            task_results: vec![None; graph.nodes.len()],
            prefetched,
            in_flight: BTreeSet::new(),
            stop: None,
            environment: None,
            workers: Workers::new(shared.clone(), tx),
            rx,
            shared,
            opts,
            reporter,
        }
    }

    /// Starts what is ready and handles what workers report until nothing runs or can start.
    fn drive(&mut self) {
        loop {
            self.start_ready();
            if self.in_flight.is_empty() && (!self.queue.has_ready() || self.stop.is_some()) {
                return;
            }
            if self.watch_interrupt() {
                return;
            }
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(msg) => self.handle(msg),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Starts ready nodes, up to -j tasks at once; groups finish on the spot.
    fn start_ready(&mut self) {
        while self.stop.is_none() && self.in_flight.len() < self.opts.jobs {
            let Some(n) = self.queue.pop() else { return };
            if matches!(self.shared.graph.nodes[n].action, Action::Group) {
                self.finish_group(n);
            } else {
                self.start(n);
            }
        }
    }

    /// A builtin's name only gathers its subtasks: done as soon as they are.
    fn finish_group(&mut self, n: usize) {
        let ran = self.results.finish_group(&self.shared, n);
        self.task_results[n] = Some(TaskResult {
            name: self.shared.graph.nodes[n].name.clone(),
            status: if ran { Status::Ran } else { Status::UpToDate },
            reason: String::new(),
            seconds: 0.0,
            exit_code: None,
            log: None,
            is_group: true,
        });
        self.queue.succeeded(n);
    }

    fn start(&mut self, n: usize) {
        let mut job = self.results.job(&self.shared, n, self.opts.forced[n]);
        // Inputs hashed at the start are still right unless a dependency just ran.
        let dep_ran = self.shared.graph.nodes[n]
            .deps
            .iter()
            .any(|&d| self.results.ran(d));
        if !dep_ran {
            job.prefetched = self.prefetched[n].take();
        }
        self.in_flight.insert(n);
        self.workers.start(job, self.in_flight.len());
    }

    /// Notices Ctrl-C (or SIGTERM/SIGHUP): stops starting tasks, signals running ones,
    /// escalates, and after the grace period gives up on them (returns true).
    fn watch_interrupt(&mut self) -> bool {
        let procs = &self.shared.procs;
        if procs.is_interrupted() && !matches!(self.stop, Some(Stop::Interrupted(_))) {
            self.stop = Some(Stop::Interrupted(Instant::now()));
            self.reporter.message("interrupted: stopping running tasks");
            procs.signal_all(libc::SIGTERM);
            if let Some(hook) = &self.shared.on_interrupt {
                hook();
            }
        }
        let Some(Stop::Interrupted(at)) = self.stop else {
            return false;
        };
        if at.elapsed() > INTERRUPT_KILL {
            procs.signal_all(libc::SIGKILL);
        }
        // A Docker build cannot be killed from here; it stops when dorun exits and the
        // engine sees the connection close. Nothing it does after this is recorded.
        at.elapsed() > INTERRUPT_GRACE
    }

    fn handle(&mut self, msg: Msg) {
        let name = |node: usize| &self.shared.graph.nodes[node].name;
        match msg {
            Msg::Started { node, why } => self.reporter.started(name(node), &why),
            Msg::Step { node, step } => self.reporter.step(name(node), &step),
            Msg::Finished { node, outcome } => self.finished(node, outcome),
        }
    }

    fn finished(&mut self, node: usize, outcome: Outcome) {
        self.in_flight.remove(&node);
        let name = self.shared.graph.nodes[node].name.clone();
        match outcome {
            Outcome::UpToDate { result } => {
                self.results.set(node, result, false);
                self.queue.succeeded(node);
                let r = task_result(&name, Status::UpToDate, "", 0.0, None, None);
                self.report(node, r, None);
            }
            Outcome::Ran {
                result,
                why,
                seconds,
            } => {
                self.results.set(node, result, true);
                self.queue.succeeded(node);
                let r = task_result(&name, Status::Ran, &why, seconds, Some(0), None);
                self.report(node, r, None);
            }
            Outcome::Failed {
                message,
                exit_code,
                seconds,
                log,
                environment,
            } => {
                let tail = log.as_ref().and_then(|l| log_tail(l, 20));
                self.stop_after_failure(node, &message, environment);
                let r = task_result(&name, Status::Failed, &message, seconds, exit_code, log);
                self.report(node, r, tail.as_deref());
                // After the failure they refer to, so a log reads in order.
                for s in self.queue.failed(node) {
                    let why = format!("dependency {name} failed");
                    let r = task_result(
                        &self.shared.graph.nodes[s].name,
                        Status::Skipped,
                        &why,
                        0.0,
                        None,
                        None,
                    );
                    self.report(s, r, None);
                }
            }
        }
    }

    /// Without -k a failure stops new tasks from starting (image tests excepted). Without the
    /// engine or registry nothing else can be decided: stop, even under -k.
    fn stop_after_failure(&mut self, node: usize, message: &str, environment: bool) {
        if environment && self.environment.is_none() {
            self.environment = Some(message.to_string());
        }
        let stops = self.shared.works[node]
            .as_ref()
            .is_none_or(|w| w.failure_stops_run());
        if ((!self.opts.keep_going && stops) || environment) && self.stop.is_none() {
            self.stop = Some(Stop::After(self.shared.graph.nodes[node].name.clone()));
        }
    }

    fn report(&mut self, node: usize, result: TaskResult, log_tail: Option<&str>) {
        self.reporter.finished(&result, log_tail);
        self.task_results[node] = Some(result);
    }

    /// Reports what never finished or never started, saves the stat cache, and returns the
    /// results of `selected` in order.
    fn finish(mut self, selected: &[usize]) -> RunSummary {
        let interrupted = matches!(self.stop, Some(Stop::Interrupted(_)));
        for n in std::mem::take(&mut self.in_flight) {
            let name = &self.shared.graph.nodes[n].name;
            let r = task_result(
                name,
                Status::Failed,
                "interrupted while running",
                0.0,
                None,
                None,
            );
            self.report(n, r, None);
        }
        let why = self.not_started_reason();
        for n in self.queue.not_started() {
            let name = &self.shared.graph.nodes[n].name;
            let r = task_result(name, Status::Skipped, &why, 0.0, None, None);
            self.report(n, r, None);
        }
        let _ = self.shared.cache.save(&self.shared.state.stat_cache_path());
        let results: Vec<TaskResult> = selected
            .iter()
            .filter_map(|&n| self.task_results[n].take())
            .collect();
        self.reporter.end(&results);
        RunSummary {
            results,
            interrupted,
            environment: self.environment,
        }
    }

    fn not_started_reason(&self) -> String {
        let failed = match &self.stop {
            Some(Stop::Interrupted(_)) => return "not started: interrupted".to_string(),
            Some(Stop::After(name)) => name.as_str(),
            None => "",
        };
        if self.environment.is_some() {
            format!("not started: {failed} failed for want of the engine or registry")
        } else {
            format!("not started: stopped after {failed} failed (use -k to keep going)")
        }
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

/// Hashes every selected task's inputs at once, in parallel (stat cache hits on a no-op run),
/// so up-to-date checks do not wait for one dependency level after another; and reads each
/// task's last duration (milliseconds) for the queue's critical paths.
fn prefetch(shared: &Shared, selected: &[usize]) -> (Vec<Option<Inputs>>, Vec<u64>) {
    use std::sync::atomic::AtomicUsize;
    type Slot = std::sync::Mutex<(Option<Inputs>, u64)>;
    let out: Vec<Slot> = (0..shared.graph.nodes.len())
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
                    let inputs = work.prefetch(&shared.project, &shared.cache);
                    let cost = shared
                        .state
                        .load_summary(&shared.graph.nodes[n].name)
                        .map_or(UNKNOWN_COST_MS, |r| (r.seconds * 1000.0) as u64);
                    *crate::sync::lock(&out[n]) = (inputs, cost);
                }
            });
        }
    });
    out.into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unzip()
}
