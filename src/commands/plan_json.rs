//! `plan --json` (SPEC §2): every task of the plan with the decision `run` would act on and why,
//! and the waves of the tasks that will run (`exec::waves`).
use crate::exec::plan::Prediction;
use crate::exec::waves;
use crate::graph::{Action, Graph};
use serde::Serialize;

#[derive(Serialize)]
struct PlanJson<'a> {
    /// Names of the tasks that will run, wave by wave.
    waves: Vec<Vec<&'a str>>,
    tasks: Vec<TaskJson<'a>>,
}

#[derive(Serialize)]
struct TaskJson<'a> {
    name: &'a str,
    decision: Decision,
    /// One line: what `plan` prints after the name.
    reason: String,
    reasons: Vec<String>,
    /// The decision is not `skip` (kept from the first version of this output).
    run: bool,
    wave: Option<usize>,
    error: Option<&'a str>,
    deps: Vec<&'a str>,
}

#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum Decision {
    /// Stale: it runs.
    Run,
    /// Up to date: it does not run.
    Skip,
    /// Its status could not be judged (an unreadable input...): it runs, and likely fails.
    CannotDecide,
}

/// The JSON text of a plan: `predictions` in topological order (as `Session::predict` returns
/// them); builtin groups are left out (their subtasks are listed).
pub(super) fn render(graph: &Graph, predictions: &[Prediction]) -> String {
    let order: Vec<usize> = predictions.iter().map(|p| p.node).collect();
    let stale: Vec<bool> = {
        let mut v = vec![false; graph.nodes.len()];
        for p in predictions {
            v[p.node] = p.stale();
        }
        v
    };
    let wave_of = waves::waves(graph, &order, |n| stale[n]);
    let name = |n: usize| graph.nodes[n].name.as_str();
    let tasks = predictions
        .iter()
        .zip(&wave_of)
        .filter(|(p, _)| !matches!(graph.nodes[p.node].action, Action::Group))
        .map(|(p, &wave)| TaskJson {
            name: name(p.node),
            decision: match (&p.error, p.stale()) {
                (Some(_), _) => Decision::CannotDecide,
                (None, true) => Decision::Run,
                (None, false) => Decision::Skip,
            },
            reason: super::describe(p),
            reasons: p.reasons.iter().map(ToString::to_string).collect(),
            run: p.stale(),
            wave,
            error: p.error.as_deref(),
            deps: graph.nodes[p.node].deps.iter().map(|&d| name(d)).collect(),
        })
        .collect();
    let waves = waves::group(&order, &wave_of)
        .into_iter()
        .map(|wave| wave.into_iter().map(name).collect())
        .collect();
    serde_json::to_string_pretty(&PlanJson { waves, tasks }).expect("plain data serializes")
}
