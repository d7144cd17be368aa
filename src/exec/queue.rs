//! A pure dependency queue over node indices: what is ready, what a failure skips. No threads,
//! no I/O, so the scheduling rules are unit-tested with integers (cargo's dependency_queue).
use std::collections::VecDeque;

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

pub struct Queue {
    slot: Vec<Slot>,
    missing: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    ready: VecDeque<usize>,
}

impl Queue {
    /// `deps[i]` are node i's dependencies; only `selected` nodes are scheduled, and a
    /// dependency outside the selection counts as satisfied (`--only`).
    pub fn new(deps: &[Vec<usize>], selected: &[usize]) -> Queue {
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
        let mut ready = VecDeque::new();
        for &i in selected {
            if missing[i] == 0 {
                slot[i] = Slot::Ready;
                ready.push_back(i);
            }
        }
        Queue {
            slot,
            missing,
            dependents,
            ready,
        }
    }

    pub fn pop(&mut self) -> Option<usize> {
        let n = self.ready.pop_front()?;
        self.slot[n] = Slot::Running;
        Some(n)
    }

    pub fn succeeded(&mut self, n: usize) {
        self.slot[n] = Slot::Done;
        for &d in &self.dependents[n].clone() {
            self.missing[d] -= 1;
            if self.missing[d] == 0 && self.slot[d] == Slot::Waiting {
                self.slot[d] = Slot::Ready;
                self.ready.push_back(d);
            }
        }
    }

    /// Marks `n` failed and returns every node skipped because of it (transitively).
    pub fn failed(&mut self, n: usize) -> Vec<usize> {
        self.slot[n] = Slot::Failed;
        let mut skipped = Vec::new();
        let mut stack = self.dependents[n].clone();
        while let Some(d) = stack.pop() {
            if matches!(self.slot[d], Slot::Waiting | Slot::Ready) {
                self.slot[d] = Slot::Skipped;
                self.ready.retain(|&r| r != d);
                skipped.push(d);
                stack.extend(self.dependents[d].iter().copied());
            }
        }
        skipped.sort_unstable();
        skipped
    }

    /// Nodes that never started (after a stop without --keep-going, or an interrupt).
    pub fn not_started(&self) -> Vec<usize> {
        (0..self.slot.len())
            .filter(|&i| matches!(self.slot[i], Slot::Waiting | Slot::Ready))
            .collect()
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }
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
}
