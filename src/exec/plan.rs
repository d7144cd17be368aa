//! The dry run behind `plan`, `info` and `list`: in dependency order, the same decision the
//! coordinator would act on (`decide::decide`), without executing anything or touching the state.
use super::decide::{decide, Results};
use super::runner::Shared;
use crate::fingerprint::DirtyReason;
use crate::graph::Action;

#[derive(Debug, Clone)]
pub struct Prediction {
    pub node: usize,
    /// Why it would run: the reasons of the decision `run` would act on now, then the
    /// dependencies that will run first.
    pub reasons: Vec<DirtyReason>,
    /// The task could not even be judged (an unreadable input, an unreachable engine...).
    pub error: Option<String>,
    /// The error is the engine's or registry's silence, not the task's: its status is unknown.
    pub environment: bool,
}

impl Prediction {
    pub fn stale(&self) -> bool {
        !self.reasons.is_empty() || self.error.is_some()
    }
}

/// Predictions for `order` (topological, as `Graph::closure` returns it).
pub fn predict(shared: &Shared, order: &[usize], forced: &[bool]) -> Vec<Prediction> {
    let graph = &shared.graph;
    // `ran` here means "predicted to run".
    let mut results = Results::new(graph.nodes.len());
    let noop = |_: usize, _: usize, _: &str| {};
    order
        .iter()
        .map(|&n| {
            let node = &graph.nodes[n];
            let deps_will_run: Vec<DirtyReason> = node
                .deps
                .iter()
                .filter(|&&d| results.ran(d))
                .map(|&d| DirtyReason::DepWillRun(graph.nodes[d].name.clone()))
                .collect();
            if matches!(node.action, Action::Group) {
                results.finish_group(shared, n);
                return Prediction {
                    node: n,
                    reasons: deps_will_run,
                    error: None,
                    environment: false,
                };
            }
            let mut job = results.job(shared, n, forced[n]);
            job.deps_will_run = !deps_will_run.is_empty();
            let cx = job.cx(shared, &noop);
            match decide(shared, &job, &cx) {
                Ok(decision) => {
                    let result = decision.result_without_running(&shared.state, &node.name);
                    let mut reasons = decision.reasons;
                    // A dependency that runs first changes what this task sees, unless its
                    // decision ignores its dependencies' results (image tasks judge by identity).
                    let work = shared.works[n].as_ref().expect("task nodes have work");
                    if work.uses_dependency_results() {
                        reasons.extend(deps_will_run);
                    }
                    results.set(n, result, !reasons.is_empty());
                    Prediction {
                        node: n,
                        reasons,
                        error: None,
                        environment: false,
                    }
                }
                Err(e) => {
                    results.will_run(n);
                    Prediction {
                        node: n,
                        reasons: Vec::new(),
                        error: Some(e.message),
                        environment: e.environment,
                    }
                }
            }
        })
        .collect()
}
