//! Waves of a plan (`plan --json`): the tasks predicted to run, grouped so that wave k holds the
//! tasks whose dependencies that will run are all in waves before k. Tasks that stay up to date
//! (and builtin groups) belong to no wave but pass their dependencies' waves on: a task waits
//! for what runs behind an up-to-date dependency too, as the coordinator makes it wait.
use crate::graph::{Action, Graph};

/// Per node of `order` (topological), in the same order: its wave, or None when it does not run.
pub(crate) fn waves(
    graph: &Graph,
    order: &[usize],
    runs: impl Fn(usize) -> bool,
) -> Vec<Option<usize>> {
    // The highest wave among a node and what it transitively waits for (None: nothing runs).
    let mut reach: Vec<Option<usize>> = vec![None; graph.nodes.len()];
    let mut out = Vec::with_capacity(order.len());
    for &n in order {
        let node = &graph.nodes[n];
        let behind = node.deps.iter().filter_map(|&d| reach[d]).max();
        let wave =
            (runs(n) && !matches!(node.action, Action::Group)).then(|| behind.map_or(0, |w| w + 1));
        reach[n] = wave.or(behind);
        out.push(wave);
    }
    out
}

/// The waves as lists of node ids, wave 0 first; `wave_of` is what [`waves`] returned for `order`.
pub(crate) fn group(order: &[usize], wave_of: &[Option<usize>]) -> Vec<Vec<usize>> {
    let count = wave_of.iter().flatten().max().map_or(0, |w| w + 1);
    let mut out = vec![Vec::new(); count];
    for (&n, wave) in order.iter().zip(wave_of) {
        if let Some(w) = wave {
            out[*w].push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Node;

    fn graph(deps: &[&[usize]]) -> Graph {
        let mut g = Graph::default();
        for (i, d) in deps.iter().enumerate() {
            g.nodes.push(Node {
                name: format!("t{i}"),
                doc: String::new(),
                action: Action::Image(crate::graph::ImageJob {
                    builtin: crate::config::Builtin::Build,
                    variant: Some(i),
                }),
                deps: d.to_vec(),
                parent_task: None,
            });
        }
        g
    }

    #[test]
    fn a_task_comes_after_every_running_task_it_waits_for_even_behind_an_up_to_date_one() {
        // 0 runs; 1 (up to date) waits for 0; 2 runs and waits for 1; 3 runs alone.
        let g = graph(&[&[], &[0], &[1], &[]]);
        let order = [0, 1, 2, 3];
        let w = waves(&g, &order, |n| n != 1);
        assert_eq!(w, [Some(0), None, Some(1), Some(0)]);
        assert_eq!(group(&order, &w), [vec![0, 3], vec![2]]);
        // Nothing running: no waves at all.
        let none = waves(&g, &order, |_| false);
        assert_eq!(group(&order, &none), Vec::<Vec<usize>>::new());
    }
}
