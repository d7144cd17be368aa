//! The dry run behind `plan`, `info` and `list`: predicts, in dependency order, which tasks would
//! run and why, without executing anything or touching the state.
use super::runner::{combine, Shared};
use super::work::{decide, TaskCx};
use crate::fingerprint::{DirtyReason, Hash};
use crate::graph::Action;

#[derive(Debug, Clone)]
pub struct Prediction {
    pub node: usize,
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
    let mut result: Vec<Option<Hash>> = vec![None; graph.nodes.len()];
    let mut stale = vec![false; graph.nodes.len()];
    let mut out = Vec::with_capacity(order.len());
    let noop = |_: usize, _: usize, _: &str| {};
    for &n in order {
        let node = &graph.nodes[n];
        let mut reasons = Vec::new();
        let mut deps = Vec::new();
        for &d in &node.deps {
            let name = graph.nodes[d].name.clone();
            if stale[d] {
                reasons.push(DirtyReason::DepWillRun(name.clone()));
            }
            let h = result[d].unwrap_or_else(|| {
                super::work::recorded_result(&shared.state, &name).unwrap_or([0; 32])
            });
            deps.push((name, h));
        }
        if matches!(node.action, Action::Group) {
            stale[n] = !reasons.is_empty();
            result[n] = Some(combine(&deps));
            out.push(Prediction {
                node: n,
                reasons,
                error: None,
                environment: false,
            });
            continue;
        }
        let work = shared.works[n].as_ref().expect("task nodes have work");
        let cx = TaskCx {
            name: &node.name,
            project: &shared.project,
            state: &shared.state,
            cache: &shared.cache,
            procs: &shared.procs,
            deps,
            on_step: &noop,
            prefetched: Default::default(),
        };
        let mut error = None;
        let mut environment = false;
        // A dependency that will run may change what this task sees, unless the task's
        // decision does not use its dependencies' results (image tasks judge by identity).
        let dep_will_run = std::mem::take(&mut reasons);
        match decide(work.as_ref(), &cx, forced[n]) {
            Ok((fp, r)) => {
                reasons = r;
                if work.uses_dependency_results() {
                    reasons.extend(dep_will_run);
                }
                result[n] = Some(
                    shared
                        .state
                        .load_summary(&node.name)
                        .map(|rec| rec.result_digest)
                        .unwrap_or_else(|| fp.digest()),
                );
            }
            Err(e) => {
                environment = e.environment;
                error = Some(e.message);
            }
        }
        stale[n] = !reasons.is_empty() || error.is_some();
        out.push(Prediction {
            node: n,
            reasons,
            error,
            environment,
        });
    }
    out
}
