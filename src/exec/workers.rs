//! The run's worker threads. At most `-j` tasks are in flight, so as many threads serve them
//! all: each takes the next job from one queue and works on it (`worker::work_on`). A thread
//! is started only when every one is busy; before, each task got a thread of its own, and a
//! no-op build of thousands of subtasks spent about a tenth of its profile creating and
//! unmapping them. Idle threads end when the coordinator drops the pool; a thread stuck in a
//! task the run gave up on (after an interrupt's grace period) is left behind, as before, not
//! joined.
use super::decide::Job;
use super::runner::Shared;
use super::worker::{work_on, Msg};
use std::sync::{mpsc, Arc, Mutex};

pub(super) struct Workers {
    shared: Arc<Shared>,
    /// Where workers report to the coordinator.
    reports: mpsc::Sender<Msg>,
    jobs: mpsc::Sender<Job>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    threads: usize,
}

impl Workers {
    pub(super) fn new(shared: Arc<Shared>, reports: mpsc::Sender<Msg>) -> Workers {
        let (jobs, queue) = mpsc::channel();
        Workers {
            shared,
            reports,
            jobs,
            queue: Arc::new(Mutex::new(queue)),
            threads: 0,
        }
    }

    /// Hands `job` to a free thread. `in_flight` counts the jobs not finished yet, this one
    /// included: a thread is started while there are fewer. A thread that just reported a
    /// finished task takes the next job as soon as it is back at the queue.
    pub(super) fn start(&mut self, job: Job, in_flight: usize) {
        if self.threads < in_flight {
            let shared = self.shared.clone();
            let reports = self.reports.clone();
            let queue = self.queue.clone();
            std::thread::spawn(move || serve(&shared, &queue, &reports));
            self.threads += 1;
        }
        // Cannot fail: the pool itself holds the receiving end.
        let _ = self.jobs.send(job);
    }
}

fn serve(shared: &Shared, queue: &Mutex<mpsc::Receiver<Job>>, reports: &mpsc::Sender<Msg>) {
    loop {
        // One idle thread waits on the queue, the others on its lock.
        let next = crate::sync::lock(queue).recv();
        match next {
            Ok(job) => work_on(shared, job, reports),
            Err(mpsc::RecvError) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::runner::{self, RunOptions};
    use crate::exec::test_project::{self, Silent};
    use crate::report::Status;
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    /// 40 independent tasks at -j 3 run on at most 3 threads, each task once.
    #[test]
    fn a_run_of_many_tasks_works_on_no_more_threads_than_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let tasks: String = (0..40)
            .map(|i| format!("[tasks.t{i}]\nrun = \"true\"\n"))
            .collect();
        std::fs::write(dir.path().join("tasks.toml"), tasks).unwrap();
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let seen = threads.clone();
        let on_success = Box::new(move |_| {
            crate::sync::lock(&seen).insert(std::thread::current().id());
        });
        let shared = test_project::shared(dir.path(), Some(on_success));
        let nodes = shared.graph.nodes.len();
        let opts = RunOptions {
            jobs: 3,
            keep_going: false,
            forced: vec![false; nodes],
        };
        let selected: Vec<usize> = (0..nodes).collect();
        let summary = runner::run(shared, &selected, &opts, &mut Silent);
        let ran = summary.results.iter().filter(|r| r.status == Status::Ran);
        assert_eq!(ran.count(), 40);
        let threads = crate::sync::lock(&threads).len();
        assert!((1..=3).contains(&threads), "{threads} threads");
    }
}
