//! `[stack] keep-images`: removing an image from the local engine during a run, once it is safe
//! elsewhere (pushed by `push:X`, or staged by `build:X` with `hand-off = "registry"`) and no
//! selected task of the run still to finish needs it locally — its own test (and the tests whose
//! services run it), manifest and push, its children's builds, and any shell task behind one of
//! its subtasks. A task that fails or is skipped never finishes, so its images stay: removal
//! only ever follows success.
use super::runtime::Runtime;
use crate::config::hand_off::HandOff;
use crate::config::keep_images::KeepImages;
use crate::config::Builtin;
use crate::graph::{Action, Graph};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

/// The run's bookkeeping; empty (nothing is ever removed) until `plan` is called.
#[derive(Default)]
pub(crate) struct Keeper {
    plan: OnceLock<Mutex<Plan>>,
}

struct Plan {
    /// Per selected task node: the variants it needs in the local engine.
    uses: HashMap<usize, Vec<usize>>,
    /// Per task node: the variant it makes safe elsewhere when it succeeds.
    secures: HashMap<usize, usize>,
    /// Per variant: selected tasks not yet succeeded that need it locally.
    remaining: Vec<usize>,
    /// Per variant: pushed or staged by this run.
    safe: Vec<bool>,
    /// Per variant: may go at all under the setting (`parents` keeps images with children).
    removable: Vec<bool>,
    removed: Vec<bool>,
}

impl Keeper {
    /// Counts, for the tasks of `order` (the run's selection), which variants each needs.
    /// Nothing to do under `keep-images = "all"`.
    pub(crate) fn plan(&self, rt: &Runtime, graph: &Graph, order: &[usize]) {
        let keep = rt.spec.keep_images;
        if keep == KeepImages::All {
            return;
        }
        let variants = &rt.spec.variants;
        let n = variants.len();
        let has_children: Vec<bool> = (0..n)
            .map(|v| variants.iter().any(|c| c.parent == Some(v)))
            .collect();
        let selected: BTreeSet<usize> = order.iter().copied().collect();
        let mut uses: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut secures = HashMap::new();
        for &node in order {
            let needs = match &graph.nodes[node].action {
                Action::Image(job) => match (job.builtin, job.variant) {
                    (Builtin::Build, Some(v)) => {
                        if rt.spec.hand_off == HandOff::Registry {
                            secures.insert(node, v);
                        }
                        std::iter::once(v).chain(variants[v].parent).collect()
                    }
                    (Builtin::Push, Some(v)) => {
                        secures.insert(node, v);
                        vec![v]
                    }
                    // A test also runs the stack images its services name.
                    (Builtin::Test, Some(v)) => {
                        let services = rt.spec.services_of(&variants[v]);
                        let mut needs = vec![v];
                        needs.extend(
                            services
                                .values()
                                .filter_map(|s| rt.spec.service_variant(&variants[v], &s.image)),
                        );
                        needs.sort_unstable();
                        needs.dedup();
                        needs
                    }
                    (_, Some(v)) => vec![v],
                    (_, None) => Vec::new(),
                },
                // A command may use any image built before it (`docker run …`): every variant
                // with a subtask among its dependencies stays until it is done.
                Action::Shell(_) => image_subtasks_behind(graph, node, &selected),
                Action::Group => Vec::new(),
            };
            if !needs.is_empty() {
                uses.insert(node, needs);
            }
        }
        let mut remaining = vec![0; n];
        for needs in uses.values() {
            for &v in needs {
                remaining[v] += 1;
            }
        }
        let removable = (0..n)
            .map(|v| keep == KeepImages::None || !has_children[v])
            .collect();
        let _ = self.plan.set(Mutex::new(Plan {
            uses,
            secures,
            remaining,
            safe: vec![false; n],
            removable,
            removed: vec![false; n],
        }));
    }

    /// Task `node` succeeded (ran or was up to date): the images it alone still needed, once
    /// safe elsewhere, leave the local engine. A removal the engine refuses (a container of
    /// someone else still uses the image) leaves the image; the run goes on.
    pub(crate) fn succeeded(&self, rt: &Runtime, node: usize) {
        let Some(plan) = self.plan.get() else {
            return;
        };
        let to_remove: Vec<usize> = {
            let mut plan = crate::sync::lock(plan);
            if let Some(&v) = plan.secures.get(&node) {
                plan.safe[v] = true;
            }
            let needs = plan.uses.remove(&node).unwrap_or_default();
            for &v in &needs {
                plan.remaining[v] = plan.remaining[v].saturating_sub(1);
            }
            // A task securing its image also needs it: the image is among `needs`.
            needs
                .into_iter()
                .filter(|&v| {
                    let go = plan.remaining[v] == 0
                        && plan.safe[v]
                        && plan.removable[v]
                        && !plan.removed[v];
                    if go {
                        plan.removed[v] = true;
                    }
                    go
                })
                .collect()
        };
        for v in to_remove {
            remove_local(rt, v);
        }
    }
}

/// Variants whose image subtasks (among `selected`) `node` depends on, directly or not.
fn image_subtasks_behind(graph: &Graph, node: usize, selected: &BTreeSet<usize>) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    let mut found = BTreeSet::new();
    let mut stack = graph.nodes[node].deps.clone();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) || !selected.contains(&d) {
            continue;
        }
        if let Action::Image(job) = &graph.nodes[d].action {
            found.extend(job.variant);
        }
        stack.extend(&graph.nodes[d].deps);
    }
    found.into_iter().collect()
}

/// Untags variant `v`'s content, human and stable tags; the engine deletes the image with its
/// last tag (another variant's tag on the same image keeps it).
fn remove_local(rt: &Runtime, v: usize) {
    let Ok(engine) = rt.engine() else { return };
    let Ok(facts) = rt.facts(v) else { return };
    let references = [&facts.content, rt.human(v), rt.stable(v)];
    for reference in references {
        let _ = engine.remove_image(&reference.to_string(), false);
    }
    // The run's listing of the engine no longer holds for these: ask the engine from now on.
    rt.local_changed(&references);
}
