//! The image under test and how its test containers are made: the image's `test` limits
//! (memory, cpus, network, timeout) on every container, the entrypoint cleared so a check's
//! command runs as written, and labels naming the image and test for anyone inspecting them.
//! Ctrl-C removes a running test container at once (see [`Target::run`]).
use crate::config::stack_model::TestLimits;
use dorun_docker::{DetachedSpec, Engine, Limits, RunResult, RunSpec, UploadFile};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a running test watches for Ctrl-C.
const WATCH_EVERY: Duration = Duration::from_millis(100);

pub(super) struct Target<'a> {
    pub engine: &'a Engine,
    /// The content reference: exactly the identity being tested.
    pub image: String,
    /// `base@regular`.
    pub variant: String,
    /// `registry/ns/base`: a label, so leftovers of one stack can be found.
    pub repository: String,
    pub limits: TestLimits,
    /// Set by the signal handler on Ctrl-C.
    pub interrupted: &'a AtomicBool,
}

impl Target<'_> {
    /// A container spec for `cmd` with this image's limits.
    pub(super) fn spec(&self, test: &str, cmd: Vec<String>) -> RunSpec {
        let mut spec = RunSpec::new(self.image.clone(), cmd);
        spec.entrypoint = Some(Vec::new());
        spec.timeout = self.limits.timeout;
        spec.limits = Limits {
            memory_bytes: self.limits.memory_bytes,
            nano_cpus: self.limits.cpus.map(|c| (c * 1e9).round() as i64),
            network: self.limits.network.clone(),
            tmpfs: self.limits.tmpfs.clone(),
        };
        spec.labels = BTreeMap::from([
            ("dorun.variant".to_string(), self.variant.clone()),
            ("dorun.test".to_string(), test.to_string()),
            ("dorun.repository".to_string(), self.repository.clone()),
        ]);
        spec.env = BTreeMap::from([
            ("DORUN_IMAGE".to_string(), self.image.clone()),
            ("DORUN_VARIANT".to_string(), self.variant.clone()),
        ]);
        spec
    }

    /// A detached container of the image running its own command (entrypoint and command as
    /// the image sets them) under this image's limits and labels.
    pub(super) fn detached_spec(&self, test: &str) -> DetachedSpec {
        let run = self.spec(test, Vec::new());
        let mut spec = DetachedSpec::new(self.image.clone());
        spec.env = run.env;
        spec.limits = run.limits;
        spec.labels = run.labels;
        spec
    }

    /// Runs `cmd` (with `env` and uploaded `files`) in a fresh container, removed afterwards.
    pub(super) fn run(
        &self,
        test: &str,
        cmd: Vec<String>,
        env: &BTreeMap<String, String>,
        files: Vec<UploadFile>,
    ) -> dorun_docker::Result<RunResult> {
        let mut spec = self.spec(test, cmd);
        spec.env.extend(env.clone());
        spec.files = files;
        // The coordinator removes live containers once when interrupted; a container whose
        // creation was still in flight then (or that starts just after) would run to its
        // timeout. A watcher beside each run removes it whenever it appears.
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    if self.interrupted.load(Ordering::SeqCst) {
                        self.engine.remove_live_containers();
                    }
                    std::thread::sleep(WATCH_EVERY);
                }
            });
            let result = self.engine.run(&spec);
            done.store(true, Ordering::SeqCst);
            result
        })
    }

    /// The limits the engine applied, read back from the container before its removal, so
    /// the log proves them; empty when the image sets none.
    pub(super) fn applied(&self, r: &RunResult) -> String {
        let l = &self.limits;
        if l.memory_bytes.is_none() && l.cpus.is_none() && l.network.is_none() {
            return String::new();
        }
        let memory = match r.host_memory {
            Some(m) if m > 0 => format!("{m} bytes"),
            _ => "unlimited".into(),
        };
        let network = r.host_network.as_deref().unwrap_or("default");
        format!("[container limits applied: memory {memory}, network {network}]\n")
    }

    /// "timed out after 1m; the container was killed"
    pub(super) fn timeout_message(&self) -> String {
        format!(
            "timed out after {}; the container was killed",
            humantime::format_duration(self.limits.timeout)
        )
    }
}
