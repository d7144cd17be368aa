//! The one up-to-date decision per graph node, made the same way for `plan` and for the
//! coordinator: the context a task is judged in (built only here) and what each dependency
//! resolved to so far (from this run, else from its record; a group combines its members).
use super::runner::Shared;
use super::step::Step;
use super::work::{self, Decision, TaskCx, TaskError};
use crate::fingerprint::Hash;
use crate::graph::Action;

/// Input paths with their content hashes, hashed ahead of the decision.
pub(crate) type Inputs = Vec<(String, Hash)>;

/// What a decision needs beyond the shared pieces: taken by the coordinator when the node is
/// started, or by `plan` in dependency order.
pub(crate) struct Job {
    pub node: usize,
    /// Each dependency's name and result digest, in declaration order.
    pub deps: Vec<(String, Hash)>,
    pub force: bool,
    /// Only in `plan`: a dependency is predicted to run first (see `TaskCx::deps_will_run`).
    pub deps_will_run: bool,
    pub prefetched: Option<Inputs>,
}

impl Job {
    /// The context the task is judged (and then run) in; it takes the prefetched inputs.
    pub(crate) fn cx<'a>(
        &mut self,
        shared: &'a Shared,
        on_step: &'a (dyn Fn(Step) + Sync),
    ) -> TaskCx<'a> {
        TaskCx {
            name: &shared.graph.nodes[self.node].name,
            project: &shared.project,
            state: &shared.state,
            cache: &shared.cache,
            procs: &shared.procs,
            deps: self.deps.clone(),
            deps_will_run: self.deps_will_run,
            on_step,
            prefetched: std::sync::Mutex::new(self.prefetched.take()),
        }
    }
}

/// The decision on a task node: whether it is up to date, and if not why, with what its check
/// found for `execute`. `plan` shows exactly this value; the coordinator acts on it.
pub(crate) fn decide(shared: &Shared, job: &Job, cx: &TaskCx) -> Result<Decision, TaskError> {
    let work = shared.works[job.node]
        .as_ref()
        .expect("every task node has work");
    work.decide(cx, job.force)
}

/// Per node, the result digest it resolved to so far and whether it ran (for `plan`: whether
/// it is predicted to run).
pub(crate) struct Results {
    result: Vec<Option<Hash>>,
    ran: Vec<bool>,
}

impl Results {
    pub(crate) fn new(nodes: usize) -> Results {
        Results {
            result: vec![None; nodes],
            ran: vec![false; nodes],
        }
    }

    pub(crate) fn set(&mut self, node: usize, result: Hash, ran: bool) {
        self.result[node] = Some(result);
        self.ran[node] = ran;
    }

    /// For `plan`: `node` cannot be judged, so it is assumed to run; dependents see its
    /// recorded result meanwhile.
    pub(crate) fn will_run(&mut self, node: usize) {
        self.ran[node] = true;
    }

    pub(crate) fn ran(&self, node: usize) -> bool {
        self.ran[node]
    }

    /// A group only gathers its members: it is done as soon as they are, its result combines
    /// theirs and it ran when any of them did. Returns whether it ran.
    pub(crate) fn finish_group(&mut self, shared: &Shared, node: usize) -> bool {
        let ran = shared.graph.nodes[node].deps.iter().any(|&d| self.ran[d]);
        let result = combine(&self.deps_of(shared, node));
        self.set(node, result, ran);
        ran
    }

    /// A job for `node` with its dependencies' results as they stand now; none for a task whose
    /// decision ignores them (image tasks judge by identity and registry, not by what their
    /// dependencies produced).
    pub(crate) fn job(&self, shared: &Shared, node: usize, force: bool) -> Job {
        let uses_results = shared.works[node]
            .as_ref()
            .is_none_or(|work| work.uses_dependency_results());
        Job {
            node,
            deps: match uses_results {
                true => self.deps_of(shared, node),
                false => Vec::new(),
            },
            force,
            deps_will_run: false,
            prefetched: None,
        }
    }

    fn deps_of(&self, shared: &Shared, node: usize) -> Vec<(String, Hash)> {
        shared.graph.nodes[node]
            .deps
            .iter()
            .map(|&d| (shared.graph.nodes[d].name.clone(), self.of(shared, d)))
            .collect()
    }

    /// A node's result digest: from this run, or else from its record (a node outside the
    /// selection under `--only`, or a group of such nodes).
    fn of(&self, shared: &Shared, node: usize) -> Hash {
        if let Some(h) = self.result[node] {
            return h;
        }
        let n = &shared.graph.nodes[node];
        if matches!(n.action, Action::Group) {
            return combine(&self.deps_of(shared, node));
        }
        work::recorded_result(&shared.state, &n.name).unwrap_or([0; 32])
    }
}

/// A group's result: its members' names and results, in order.
fn combine(deps: &[(String, Hash)]) -> Hash {
    let mut h = blake3::Hasher::new();
    for (name, r) in deps {
        h.update(name.as_bytes());
        h.update(r);
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    //! `plan` and the coordinator resolve dependencies the same way: in-process, over a real
    //! project directory, each prediction is compared with what the run then did.
    use super::super::runner::{run, RunOptions};
    use crate::report::{plain::Plain, Status};
    use crate::session::Session;
    use std::collections::BTreeMap;
    use std::path::Path;

    const PROJECT: &str = r#"
[tasks.a]
run = "cp in.txt a.out"
inputs = ["in.txt"]
outputs = ["a.out"]

[tasks.b]
deps = ["a"]
run = "cat a.out > b.out"
inputs = ["a.out"]
outputs = ["b.out"]
"#;

    /// A fresh session, as a new dorun process would load it.
    fn session(root: &Path) -> Session {
        let project = crate::config::load(&root.join("tasks.toml")).unwrap();
        let graph = crate::graph::Graph::build(&project).unwrap();
        Session::new(project, graph, None).unwrap()
    }

    /// (plan: task → would run, run: task → ran) for `patterns`.
    fn plan_then_run(
        root: &Path,
        patterns: &[&str],
        only: bool,
    ) -> (BTreeMap<String, bool>, BTreeMap<String, bool>) {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        let s = session(root);
        let (roots, order) = s.selection(&patterns, only).unwrap();
        let forced = s.forced(&roots, false);
        let name = |n: usize| s.graph().nodes[n].name.clone();
        let plan = s
            .predict(&order, &forced)
            .iter()
            .map(|p| (name(p.node), p.stale()))
            .collect();
        let s = session(root);
        let opts = RunOptions {
            jobs: 2,
            keep_going: false,
            forced,
        };
        let mut quiet = Plain::new(false, false, true);
        let summary = run(s.shared.clone(), &order, &opts, &mut quiet);
        let ran = summary
            .results
            .iter()
            .map(|r| {
                assert_ne!(r.status, Status::Failed, "{}: {}", r.name, r.reason);
                (r.name.clone(), r.status == Status::Ran)
            })
            .collect();
        (plan, ran)
    }

    fn map(pairs: &[(&str, bool)]) -> BTreeMap<String, bool> {
        pairs.iter().map(|(n, b)| (n.to_string(), *b)).collect()
    }

    #[test]
    fn a_dependency_outside_the_selection_counts_with_its_recorded_result_in_plan_and_run() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("tasks.toml"), PROJECT).unwrap();
        std::fs::write(root.join("in.txt"), "one\n").unwrap();
        let (plan, ran) = plan_then_run(root, &["b"], false);
        assert_eq!(plan, map(&[("a", true), ("b", true)]));
        assert_eq!(ran, plan);

        // With --only b, a (stale now) is not run: b is judged on a's recorded result.
        std::fs::write(root.join("in.txt"), "two\n").unwrap();
        let (plan, ran) = plan_then_run(root, &["b"], true);
        assert_eq!(plan, map(&[("b", false)]));
        assert_eq!(ran, plan);

        // Without --only, a runs and b, seeing its new result and output, follows.
        let (plan, ran) = plan_then_run(root, &["b"], false);
        assert_eq!(plan, map(&[("a", true), ("b", true)]));
        assert_eq!(ran, plan);
        let (plan, ran) = plan_then_run(root, &["b"], false);
        assert_eq!(plan, map(&[("a", false), ("b", false)]));
        assert_eq!(ran, plan);
    }
}
