//! Depth-first walks over "node → its dependencies" without recursion: a chain of 100,000 tasks
//! in a large tasks.toml would overflow the stack of a recursive walk.

/// Every node, dependencies before dependents; roots (and ties) in index order.
pub(crate) fn post_order<'a>(count: usize, deps: impl Fn(usize) -> &'a [usize]) -> Vec<usize> {
    let mut done = vec![false; count];
    let mut order = Vec::with_capacity(count);
    // (node, how many of its deps were already pushed)
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..count {
        if done[root] {
            continue;
        }
        done[root] = true;
        stack.push((root, 0));
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            match deps(node).get(*next) {
                Some(&dep) => {
                    *next += 1;
                    if !done[dep] {
                        done[dep] = true;
                        stack.push((dep, 0));
                    }
                }
                None => {
                    stack.pop();
                    order.push(node);
                }
            }
        }
    }
    order
}

/// The first dependency loop found, as the nodes along it with the first repeated at the end
/// (`[a, b, a]`); None when the graph is acyclic.
pub(crate) fn find_cycle<'a>(
    count: usize,
    deps: impl Fn(usize) -> &'a [usize],
) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; count];
    // The current path, each node with how many of its deps were already followed.
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..count {
        if mark[root] != Mark::New {
            continue;
        }
        mark[root] = Mark::OnPath;
        path.push((root, 0));
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&dep) = deps(node).get(*next) else {
                mark[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match mark[dep] {
                Mark::OnPath => {
                    let start = path
                        .iter()
                        .position(|&(n, _)| n == dep)
                        .expect("on the path");
                    let mut cycle: Vec<usize> = path[start..].iter().map(|&(n, _)| n).collect();
                    cycle.push(dep);
                    return Some(cycle);
                }
                Mark::New => {
                    mark[dep] = Mark::OnPath;
                    path.push((dep, 0));
                }
                Mark::Done => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_order_puts_dependencies_first() {
        let deps = [vec![1, 2], vec![2], vec![]];
        assert_eq!(post_order(3, |n| &deps[n]), [2, 1, 0]);
        let none: [Vec<usize>; 3] = Default::default();
        assert_eq!(post_order(3, |n| &none[n]), [0, 1, 2]);
    }

    #[test]
    fn cycles_are_found_as_their_loop() {
        let acyclic = [vec![1], vec![2], vec![]];
        assert_eq!(find_cycle(3, |n| &acyclic[n]), None);
        let looped = [vec![1], vec![2], vec![1]];
        assert_eq!(find_cycle(3, |n| &looped[n]), Some(vec![1, 2, 1]));
        let self_loop = [vec![0]];
        assert_eq!(find_cycle(1, |n| &self_loop[n]), Some(vec![0, 0]));
    }

    #[test]
    fn a_very_deep_chain_does_not_overflow_the_stack() {
        let count = 1_000_000;
        let deps: Vec<Vec<usize>> = (0..count)
            .map(|n| if n + 1 < count { vec![n + 1] } else { vec![] })
            .collect();
        assert_eq!(find_cycle(count, |n| &deps[n]), None);
        let order = post_order(count, |n| &deps[n]);
        assert_eq!(order.first(), Some(&(count - 1)));
        assert_eq!(order.last(), Some(&0));
    }
}
