//! A pure dependency queue over node indices: what is ready, which ready node goes first, what a
//! failure skips. No threads, no I/O, so the scheduling rules are unit-tested with integers
//! (cargo's dependency_queue).
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    NotSelected,
    Waiting,
    Ready,
    Running,
    Done,
    Failed,
    Skipped,
}

pub(crate) struct Queue {
    slot: Vec<Slot>,
    missing: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    /// Each node's critical path: its own cost plus that of the costliest chain of selected
    /// dependents waiting for it. The ready node with the longest one starts first, so a long
    /// chain is not left to start last while -j slots go to quick leaves.
    priority: Vec<u64>,
    /// Ready nodes, longest critical path first, then lowest index (declaration order).
    ready: BinaryHeap<(u64, Reverse<usize>)>,
}

impl Queue {
    /// A queue where every node costs the same: ready nodes go by how many chained dependents
    /// wait on them (the unit tests' queue).
    #[cfg(test)]
    pub(crate) fn new(deps: &[Vec<usize>], selected: &[usize]) -> Queue {
        Queue::with_costs(deps, selected, &vec![1; deps.len()])
    }

    /// `deps[i]` are node i's dependencies and `cost[i]` its expected duration in any unit (the
    /// coordinator gives milliseconds from the last recorded run); only `selected` nodes are
    /// scheduled, and a dependency outside the selection counts as satisfied (`--only`).
    pub(crate) fn with_costs(deps: &[Vec<usize>], selected: &[usize], cost: &[u64]) -> Queue {
        let n = deps.len();
        let mut slot = vec![Slot::NotSelected; n];
        for &s in selected {
            slot[s] = Slot::Waiting;
        }
        let mut missing = vec![0; n];
        let mut dependents = vec![Vec::new(); n];
        for &i in selected {
            for &d in &deps[i] {
                if slot[d] != Slot::NotSelected {
                    missing[i] += 1;
                    dependents[d].push(i);
                }
            }
        }
        let priority = critical_paths(&dependents, selected, cost);
        let mut ready = BinaryHeap::new();
        for &i in selected {
            if missing[i] == 0 {
                slot[i] = Slot::Ready;
                ready.push((priority[i], Reverse(i)));
            }
        }
        Queue {
            slot,
            missing,
            dependents,
            priority,
            ready,
        }
    }

    pub(crate) fn pop(&mut self) -> Option<usize> {
        let (_, Reverse(n)) = self.ready.pop()?;
        self.slot[n] = Slot::Running;
        Some(n)
    }

    pub(crate) fn succeeded(&mut self, n: usize) {
        self.slot[n] = Slot::Done;
        for &d in &self.dependents[n].clone() {
            self.missing[d] -= 1;
            if self.missing[d] == 0 && self.slot[d] == Slot::Waiting {
                self.slot[d] = Slot::Ready;
                self.ready.push((self.priority[d], Reverse(d)));
            }
        }
    }

    /// Marks `n` failed and returns every node skipped because of it (transitively).
    pub(crate) fn failed(&mut self, n: usize) -> Vec<usize> {
        self.slot[n] = Slot::Failed;
        let mut skipped = Vec::new();
        let mut stack = self.dependents[n].clone();
        while let Some(d) = stack.pop() {
            if matches!(self.slot[d], Slot::Waiting | Slot::Ready) {
                self.slot[d] = Slot::Skipped;
                self.ready.retain(|&(_, Reverse(r))| r != d);
                skipped.push(d);
                stack.extend(self.dependents[d].iter().copied());
            }
        }
        skipped.sort_unstable();
        skipped
    }

    /// Nodes that never started (after a stop without --keep-going, or an interrupt).
    pub(crate) fn not_started(&self) -> Vec<usize> {
        (0..self.slot.len())
            .filter(|&i| matches!(self.slot[i], Slot::Waiting | Slot::Ready))
            .collect()
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }
}

/// Each selected node's cost plus the largest such sum over its dependents, computed from the
/// last nodes back (no recursion: a chain of thousands must not overflow the stack).
fn critical_paths(dependents: &[Vec<usize>], selected: &[usize], cost: &[u64]) -> Vec<u64> {
    let mut priority = vec![0u64; dependents.len()];
    let mut unresolved: Vec<usize> = dependents.iter().map(Vec::len).collect();
    let mut dependencies = vec![Vec::new(); dependents.len()];
    for &n in selected {
        for &d in &dependents[n] {
            dependencies[d].push(n);
        }
    }
    let mut done: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&n| unresolved[n] == 0)
        .collect();
    while let Some(n) = done.pop() {
        let after = dependents[n]
            .iter()
            .map(|&d| priority[d])
            .max()
            .unwrap_or(0);
        priority[n] = cost[n].saturating_add(after);
        for &dep in &dependencies[n] {
            unresolved[dep] -= 1;
            if unresolved[dep] == 0 {
                done.push(dep);
            }
        }
    }
    priority
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Vec<Vec<usize>> {
        // 0 <- 1 <- 2, 0 <- 3
        vec![vec![], vec![0], vec![1], vec![0]]
    }

    #[test]
    fn dependencies_come_first() {
        let mut q = Queue::new(&chain(), &[0, 1, 2, 3]);
        assert_eq!(q.pop(), Some(0));
        assert_eq!(q.pop(), None);
        q.succeeded(0);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(3));
        q.succeeded(1);
        assert_eq!(q.pop(), Some(2));
    }

    #[test]
    fn failure_skips_only_dependents() {
        let mut q = Queue::new(&chain(), &[0, 1, 2, 3]);
        q.pop();
        q.succeeded(0);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.failed(1), vec![2]);
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.pop(), None);
        assert!(q.not_started().is_empty());
    }

    #[test]
    fn unselected_dependencies_count_as_done() {
        let mut q = Queue::new(&chain(), &[2]);
        assert_eq!(q.pop(), Some(2));
    }

    #[test]
    fn not_started_lists_waiting_nodes() {
        let mut q = Queue::new(&chain(), &[0, 1, 2]);
        q.pop();
        assert_eq!(q.not_started(), vec![1, 2]);
    }

    #[test]
    fn the_longest_chain_starts_first() {
        // 0 alone; 1 <- 2 <- 3: both 0 and 1 are ready, 1 has two tasks waiting behind it.
        let deps = vec![vec![], vec![], vec![1], vec![2]];
        let mut q = Queue::new(&deps, &[0, 1, 2, 3]);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(0));
    }

    #[test]
    fn recorded_durations_outweigh_the_number_of_dependents() {
        // 0 has three quick dependents (1, 2, 3); 4 alone took ten seconds last time.
        let deps = vec![vec![], vec![0], vec![0], vec![0], vec![]];
        let cost = [100, 100, 100, 100, 10_000];
        let mut q = Queue::with_costs(&deps, &[0, 1, 2, 3, 4], &cost);
        assert_eq!(q.pop(), Some(4));
        assert_eq!(q.pop(), Some(0));
    }

    #[test]
    fn a_chain_costs_its_costliest_branch_not_the_sum() {
        // 0 <- 1 (9 s) and 0 <- 2 (9 s): 0's path is 1 + 9 = 10; 3 alone costs 15 and goes first.
        let deps = vec![vec![], vec![0], vec![0], vec![]];
        let cost = [1, 9, 9, 15];
        let mut q = Queue::with_costs(&deps, &[0, 1, 2, 3], &cost);
        assert_eq!(
            critical_paths(&q.dependents, &[0, 1, 2, 3], &cost),
            [10, 9, 9, 15]
        );
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.pop(), Some(0));
    }

    #[test]
    fn newly_ready_nodes_are_ranked_too() {
        // 0 <- 1 (cheap), 0 <- 2 (costly): when 0 succeeds, 2 goes before 1.
        let deps = vec![vec![], vec![0], vec![0]];
        let mut q = Queue::with_costs(&deps, &[0, 1, 2], &[1, 1, 50]);
        assert_eq!(q.pop(), Some(0));
        q.succeeded(0);
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), Some(1));
    }

    #[test]
    fn equal_paths_keep_declaration_order_and_unselected_dependents_do_not_count() {
        // 2 depends on 1 but is not selected: 0 and 1 tie and go in index order.
        let deps = vec![vec![], vec![], vec![1]];
        let mut q = Queue::new(&deps, &[0, 1]);
        assert_eq!(q.pop(), Some(0));
        assert_eq!(q.pop(), Some(1));
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 100_000;
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        let selected: Vec<usize> = (0..n).collect();
        let mut q = Queue::new(&deps, &selected);
        assert_eq!(q.priority[0], n as u64);
        assert_eq!(q.pop(), Some(0));
    }
}
