//! What every kind of task provides to the engine (its fingerprint, extra staleness checks, how
//! to execute it), and the one up-to-date decision built on that.
use crate::config::Project;
use crate::fingerprint::{reason, DirtyReason, Fingerprint, Hash, RecordSummary, StatCache};
use crate::state::State;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use super::procs::Procs;
use super::step::Step;

/// Everything a task may look at while deciding or running.
pub(crate) struct TaskCx<'a> {
    pub name: &'a str,
    pub project: &'a Project,
    pub state: &'a State,
    pub cache: &'a StatCache,
    pub procs: &'a Procs,
    /// Each dependency's name and result digest, in declaration order.
    pub deps: Vec<(String, Hash)>,
    /// Progress within the task (a Docker build's steps, a test run's files).
    pub on_step: &'a (dyn Fn(Step) + Sync),
    /// Only in `plan`: a dependency is predicted to run first. What a dependency establishes
    /// when it succeeds (an image built under this commit's tag) is then to be taken as given,
    /// as it will be when the task is decided during the run.
    pub deps_will_run: bool,
    /// Input hashes taken at the start of the run, valid when no dependency ran since.
    /// Taken (not cloned) by the first fingerprint computed.
    pub prefetched: std::sync::Mutex<Option<Vec<(String, Hash)>>>,
}

impl TaskCx<'_> {
    pub(crate) fn root(&self) -> &Path {
        &self.project.root
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TaskError {
    pub message: String,
    pub exit_code: Option<i32>,
    /// The engine or registry did not answer (unreachable, or past its deadline): the run
    /// stops and exits 3, and `plan` exits 3, instead of blaming the task.
    pub environment: bool,
    /// The engine's or registry's error this one words, kept whole (not only its text).
    pub source: Option<std::sync::Arc<dorun_docker::DockerError>>,
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl TaskError {
    pub(crate) fn new(message: impl Into<String>) -> TaskError {
        TaskError {
            message: message.into(),
            exit_code: None,
            environment: false,
            source: None,
        }
    }

    /// A failure of the environment rather than of the task (see `environment`).
    pub(crate) fn environment(message: impl Into<String>) -> TaskError {
        TaskError {
            environment: true,
            ..TaskError::new(message)
        }
    }
}

/// The engine's or registry's own words; an unreachable or silent one is the environment's
/// fault. (Pushes word their failures themselves: a registry lost mid-push fails the push.)
impl From<dorun_docker::DockerError> for TaskError {
    fn from(e: dorun_docker::DockerError) -> TaskError {
        TaskError {
            environment: e.is_environment(),
            message: e.to_string(),
            exit_code: None,
            source: Some(std::sync::Arc::new(e)),
        }
    }
}

/// What a successful run leaves behind, recorded with the fingerprint.
#[derive(Debug, Default)]
pub(crate) struct Produced {
    pub outputs: Vec<(String, Hash)>,
    pub extra: BTreeMap<String, String>,
}

pub(crate) trait Work: Send + Sync {
    /// The current fingerprint: inputs are hashed here, right before the task would start.
    fn fingerprint(&self, cx: &TaskCx) -> Result<Fingerprint, TaskError>;

    /// Why the task must run although its fingerprint matches (missing outputs, failing
    /// `uptodate` commands, an image gone from the engine). Called only when nothing else is stale.
    /// (Builtins that override `decide` need not implement it.)
    fn stale_reasons(&self, _cx: &TaskCx, _record: &RecordSummary) -> Vec<DirtyReason> {
        Vec::new()
    }

    /// Hashes the inputs ahead of time, so that a run's up-to-date checks proceed in parallel
    /// instead of one dependency level after another. None for tasks without file inputs.
    fn prefetch(&self, _project: &Project, _cache: &StatCache) -> Option<Vec<(String, Hash)>> {
        None
    }

    /// Without -k a failure stops new tasks from starting. Image tests return false: every
    /// test runs whatever fails (SPEC §5), and only the failure's dependents are skipped.
    fn failure_stops_run(&self) -> bool {
        true
    }

    /// False for tasks whose decision ignores what their dependencies produced (image tasks
    /// judge by identity), so `plan` need not assume they run when a dependency does.
    fn uses_dependency_results(&self) -> bool {
        true
    }

    /// `always = true` tasks are never up to date.
    fn always(&self) -> bool {
        false
    }

    fn execute(
        &self,
        cx: &TaskCx,
        decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError>;

    /// Whether the task is up to date, and why not. Builtins whose up-to-date rule is not
    /// "same fingerprint as the last success" override it.
    fn decide(&self, cx: &TaskCx, force: bool) -> Result<Decision, TaskError> {
        standard_decide(self, cx, force)
    }
}

/// What one up-to-date check concluded, computed once and acted on as is: `plan` shows it, and
/// the coordinator runs the task only when it is stale and hands it to `execute`.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    /// Recorded with the result when the task runs and succeeds.
    pub fingerprint: Fingerprint,
    /// Why the task must run; empty when it is up to date.
    pub reasons: Vec<DirtyReason>,
    /// What the check found that spares `execute` work.
    pub carry: Carry,
}

/// Knowledge a decision hands to `execute`, so that it need not be found out twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Carry {
    #[default]
    Nothing,
    /// The results stored for this exact fingerprint are still those of a passing run (image
    /// tests that passed, only the lists lag behind a moved tag): `execute` republishes them
    /// instead of doing the work again. Never set for a forced or forgotten task.
    StoredResultsValid,
}

impl Decision {
    pub(crate) fn up_to_date(fingerprint: Fingerprint) -> Decision {
        Decision::stale(fingerprint, Vec::new())
    }

    pub(crate) fn stale(fingerprint: Fingerprint, reasons: Vec<DirtyReason>) -> Decision {
        Decision {
            fingerprint,
            reasons,
            carry: Carry::Nothing,
        }
    }

    pub(crate) fn is_up_to_date(&self) -> bool {
        self.reasons.is_empty()
    }

    /// The result digest dependents see when the task does not run: the recorded one, or
    /// (an image task up to date without a record, e.g. published elsewhere) its fingerprint's.
    pub(crate) fn result_without_running(&self, state: &State, name: &str) -> Hash {
        recorded_result(state, name).unwrap_or_else(|| self.fingerprint.digest())
    }
}

/// The rule of doit and make: stale when forced, `always`, never run, its fingerprint changed,
/// or (only then checked) its outputs or `uptodate` commands say so.
pub(crate) fn standard_decide<W: Work + ?Sized>(
    work: &W,
    cx: &TaskCx,
    force: bool,
) -> Result<Decision, TaskError> {
    let fp = work.fingerprint(cx)?;
    let mut reasons = Vec::new();
    if force {
        reasons.push(DirtyReason::Forced);
    }
    if work.always() {
        reasons.push(DirtyReason::Always);
    }
    match cx.state.load_summary(cx.name) {
        None => reasons.push(DirtyReason::NeverRun),
        Some(summary) if summary.fingerprint_digest == fp.digest() => {
            if reasons.is_empty() {
                reasons.extend(work.stale_reasons(cx, &summary));
            }
        }
        Some(_) => {
            // Only now read the full stored fingerprint, to say which field changed.
            let changed = match cx.state.load(cx.name) {
                Some(record) => reason::explain(&record.fingerprint, &fp),
                None => vec![DirtyReason::NeverRun],
            };
            if changed.is_empty() {
                reasons.push(DirtyReason::Other("fingerprint changed".into()));
            }
            reasons.extend(changed);
        }
    }
    Ok(Decision::stale(fp, reasons))
}

/// The result digest dependents fold into their fingerprint when this task is up to date.
pub(crate) fn recorded_result(state: &State, name: &str) -> Option<Hash> {
    state.load_summary(name).map(|r| r.result_digest)
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dorun_docker::DockerError;

    #[test]
    fn a_docker_error_is_kept_as_the_source_and_decides_the_exit_code() {
        let lost = TaskError::from(DockerError::RegistryTimeout {
            registry: "r:5000".into(),
            what: "HEAD /v2/ns/a/manifests/t".into(),
            after: std::time::Duration::from_secs(2),
        });
        assert!(
            lost.environment,
            "a silent registry is the environment's fault"
        );
        let source = std::error::Error::source(&lost).expect("the DockerError is kept");
        assert_eq!(source.to_string(), lost.message);
        let failed = TaskError::from(DockerError::BuildFailed {
            message: "RUN false: exit 1".into(),
        });
        assert!(!failed.environment, "a failing build is the task's");
        assert!(std::error::Error::source(&TaskError::new("x")).is_none());
    }
}
