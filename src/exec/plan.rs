//! The dry run behind `plan`, `info` and `list`: in dependency order, the same decision the
//! coordinator would act on (`decide::decide`), without executing anything or touching the state.
use super::decide::{decide, Results};
use super::runner::Shared;
use super::step::Step;
use crate::fingerprint::DirtyReason;
use crate::graph::Action;

#[derive(Debug, Clone)]
pub(crate) struct Prediction {
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
    pub(crate) fn stale(&self) -> bool {
        !self.reasons.is_empty() || self.error.is_some()
    }
}

/// Predictions for `order` (topological, as `Graph::closure` returns it).
pub(crate) fn predict(shared: &Shared, order: &[usize], forced: &[bool]) -> Vec<Prediction> {
    let graph = &shared.graph;
    // `ran` here means "predicted to run".
    let mut results = Results::new(graph.nodes.len());
    let noop = |_: Step| {};
    order
        .iter()
        .map(|&n| {
            let node = &graph.nodes[n];
            // Named only where they are shown (image tasks do not show them).
            let deps_will_run = |results: &Results| -> Vec<DirtyReason> {
                node.deps
                    .iter()
                    .filter(|&&d| results.ran(d))
                    .map(|&d| DirtyReason::DepWillRun(graph.nodes[d].name.clone()))
                    .collect()
            };
            if matches!(node.action, Action::Group) {
                let reasons = deps_will_run(&results);
                results.finish_group(shared, n);
                return Prediction {
                    node: n,
                    reasons,
                    error: None,
                    environment: false,
                };
            }
            let work = shared.works[n].as_ref().expect("task nodes have work");
            let shown_deps = match work.uses_dependency_results() {
                true => deps_will_run(&results),
                false => Vec::new(),
            };
            let mut job = results.job(shared, n, forced[n]);
            job.deps_will_run = node.deps.iter().any(|&d| results.ran(d));
            let cx = job.cx(shared, &noop);
            match decide(shared, &job, &cx) {
                Ok(decision) => {
                    let result = decision.result_without_running(&shared.state, &node.name);
                    let mut reasons = decision.reasons;
                    // A dependency that runs first changes what this task sees, unless its
                    // decision ignores its dependencies' results (image tasks judge by identity).
                    reasons.extend(shown_deps);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::runner::{self, RunOptions};
    use crate::exec::test_project::{self, Silent};
    use crate::report::Status;
    use std::sync::Arc;

    /// `gen` copies in.txt to out.txt; `use` reads it; `other` stands apart.
    const TASKS: &str = r#"
[tasks.gen]
run = "cp in.txt out.txt"
inputs = ["in.txt"]
outputs = ["out.txt"]
[tasks.use]
run = "cat out.txt > used.txt"
deps = ["gen"]
[tasks.other]
run = "true"
"#;

    struct Fixture {
        dir: tempfile::TempDir,
        shared: Arc<Shared>,
    }

    /// A project of shell tasks loaded as `dorun` loads it.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tasks.toml"), TASKS).unwrap();
        std::fs::write(dir.path().join("in.txt"), "v1").unwrap();
        let shared = test_project::shared(dir.path(), None);
        Fixture { dir, shared }
    }

    impl Fixture {
        fn order(&self, task: &str) -> Vec<usize> {
            let g = &self.shared.graph;
            g.closure(&[g.get(task).unwrap()], false)
        }

        /// `(task, reasons)` of `plan TASK`, forcing the tasks named in `forced`.
        fn plan(&self, task: &str, forced: &[&str]) -> Vec<(String, Vec<String>)> {
            let g = &self.shared.graph;
            let mut force = vec![false; g.nodes.len()];
            for name in forced {
                force[g.get(name).unwrap()] = true;
            }
            predict(&self.shared, &self.order(task), &force)
                .into_iter()
                .map(|p| {
                    assert!(p.error.is_none(), "{:?}", p.error);
                    assert_eq!(p.stale(), !p.reasons.is_empty());
                    let reasons = p.reasons.iter().map(ToString::to_string).collect();
                    (g.nodes[p.node].name.clone(), reasons)
                })
                .collect()
        }

        fn run(&self, task: &str) {
            let opts = RunOptions {
                jobs: 1,
                keep_going: false,
                forced: vec![false; self.shared.graph.nodes.len()],
            };
            let summary = runner::run(self.shared.clone(), &self.order(task), &opts, &mut Silent);
            assert!(summary.results.iter().all(|r| r.status != Status::Failed));
        }
    }

    fn plan_of(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(n, r)| (n.to_string(), r.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn never_run_tasks_run_and_their_dependents_with_them_without_anything_executed() {
        let f = fixture();
        assert_eq!(
            f.plan("use", &[]),
            plan_of(&[
                ("gen", &["never run"]),
                ("use", &["never run", "dependency gen will run"]),
            ])
        );
        // A dry run: no output, no record, no state written.
        assert!(!f.dir.path().join("out.txt").exists());
        assert!(!f.dir.path().join("used.txt").exists());
        assert!(f.shared.state.load_summary("gen").is_none());
    }

    #[test]
    fn after_a_run_nothing_is_stale_until_an_input_changes_or_a_task_is_forced() {
        let f = fixture();
        f.run("use");
        assert_eq!(f.plan("use", &[]), plan_of(&[("gen", &[]), ("use", &[])]));

        std::fs::write(f.dir.path().join("in.txt"), "v2").unwrap();
        assert_eq!(
            f.plan("use", &[]),
            plan_of(&[
                ("gen", &["input in.txt changed"]),
                ("use", &["dependency gen will run"]),
            ])
        );
        std::fs::write(f.dir.path().join("in.txt"), "v1").unwrap();
        // -B applies to the task named, not to what it depends on.
        assert_eq!(
            f.plan("use", &["use"]),
            plan_of(&[("gen", &[]), ("use", &["forced (-B)"])])
        );
        // A removed output makes its task, and so its dependents, stale.
        std::fs::remove_file(f.dir.path().join("out.txt")).unwrap();
        assert_eq!(
            f.plan("use", &[]),
            plan_of(&[
                ("gen", &["output out.txt missing"]),
                ("use", &["dependency gen will run"]),
            ])
        );
        assert_eq!(f.plan("other", &[]), plan_of(&[("other", &["never run"])]));
    }
}
