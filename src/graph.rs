//! The task graph: declared tasks plus builtin image tasks expanded into one subtask per image
//! variant (`build:base@py311`), dependency wiring, selection by name or glob, cycle reports.
use crate::config::{Builtin, Project, ShellSpec, TaskKind};
use crate::error::{suggest, Error, Result};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone)]
pub enum Action {
    /// A builtin task's name (`build`): nothing to do but wait for its subtasks.
    Group,
    Shell(ShellSpec),
    /// One builtin applied to one image variant, or the stack-wide `changed` check.
    Image(ImageJob),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageJob {
    pub builtin: Builtin,
    /// Index into `StackSpec::variants`; None for the stack-wide `images-changed`.
    pub variant: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub doc: String,
    pub action: Action,
    pub deps: Vec<usize>,
    /// For a subtask, the builtin task it was expanded from.
    pub parent_task: Option<String>,
}

#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    index: HashMap<String, usize>,
}

impl Graph {
    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn build(project: &Project) -> Result<Graph> {
        check_declared_cycles(project)?;
        let mut g = Graph::default();
        // Pass 1: a node for every task and subtask, so deps can refer to any of them.
        for task in &project.tasks {
            match &task.kind {
                TaskKind::Shell(spec) => {
                    g.add(&task.name, &task.doc, Action::Shell(spec.clone()), None);
                }
                TaskKind::Builtin(Builtin::Changed) => {
                    let job = ImageJob {
                        builtin: Builtin::Changed,
                        variant: None,
                    };
                    g.add(&task.name, &task.doc, Action::Image(job), None);
                }
                TaskKind::Builtin(b) => {
                    g.add(&task.name, &task.doc, Action::Group, None);
                    let stack = project.stack.as_ref().expect("checked in resolve");
                    for (i, v) in stack.variants.iter().enumerate() {
                        let job = ImageJob {
                            builtin: *b,
                            variant: Some(i),
                        };
                        let doc = format!("{} {}", verb(*b), v.key);
                        let name = format!("{}:{}", task.name, v.key);
                        g.add(&name, &doc, Action::Image(job), Some(task.name.clone()));
                    }
                }
            }
        }
        // Pass 2: wiring.
        for task in &project.tasks {
            let me = g.index[&task.name];
            let mut dep_ids = Vec::new();
            for (dep, at) in &task.deps {
                let Some(id) = g.get(dep) else {
                    let names = project.tasks.iter().map(|t| t.name.as_str());
                    return Err(Error::UnknownTask {
                        name: dep.clone(),
                        suggestion: suggest(dep, names),
                        at: Some(at.clone()),
                    });
                };
                dep_ids.push(id);
            }
            match &task.kind {
                TaskKind::Shell(_) | TaskKind::Builtin(Builtin::Changed) => {
                    g.nodes[me].deps = dep_ids;
                }
                TaskKind::Builtin(b) => g.wire_subtasks(project, &task.name, *b, &dep_ids),
            }
        }
        g.check_default(project)?;
        Ok(g)
    }

    /// `settings.default` must name tasks (or match some): checked at load time, where it is
    /// written, not only when a bare `dorun` runs it.
    fn check_default(&self, project: &Project) -> Result<()> {
        for (name, at) in &project.settings.default {
            match self.select(std::slice::from_ref(name)) {
                Ok(_) => {}
                Err(Error::UnknownTask {
                    name, suggestion, ..
                }) => {
                    return Err(Error::UnknownTask {
                        name,
                        suggestion,
                        at: Some(at.clone()),
                    })
                }
                Err(other) => return Err(Error::config(Some(at.clone()), other.to_string())),
            }
        }
        Ok(())
    }

    fn add(&mut self, name: &str, doc: &str, action: Action, parent_task: Option<String>) {
        self.index.insert(name.to_string(), self.nodes.len());
        self.nodes.push(Node {
            name: name.to_string(),
            doc: doc.to_string(),
            action,
            deps: Vec::new(),
            parent_task,
        });
    }

    /// A subtask depends on the same image's subtask of each builtin dep, on every other dep as a
    /// whole, and (for builds) on its parent image's build. Push waits for every test of the
    /// stack: it is gated on all of them passing (SPEC §6).
    fn wire_subtasks(&mut self, project: &Project, task: &str, builtin: Builtin, deps: &[usize]) {
        let stack = project.stack.as_ref().expect("checked in resolve");
        let group = self.index[task];
        for v in &stack.variants {
            let me = self.index[&format!("{task}:{}", v.key)];
            let mut wired = Vec::new();
            for &dep in deps {
                let dep_node = &self.nodes[dep];
                let is_per_image = matches!(dep_node.action, Action::Group);
                if is_per_image && builtin == Builtin::Push {
                    wired.extend(self.subtasks_of(&dep_node.name.clone()));
                } else if is_per_image {
                    wired.push(self.index[&format!("{}:{}", dep_node.name, v.key)]);
                } else {
                    wired.push(dep);
                }
            }
            if builtin == Builtin::Build {
                if let Some(parent) = v.parent {
                    wired.push(self.index[&format!("{task}:{}", stack.variants[parent].key)]);
                }
            }
            wired.sort_unstable();
            wired.dedup();
            self.nodes[me].deps = wired;
            self.nodes[group].deps.push(me);
        }
    }

    pub fn subtasks_of(&self, task: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].parent_task.as_deref() == Some(task))
            .collect()
    }

    /// Names, subtasks or globs → node ids; unknown names suggest the nearest.
    pub fn select(&self, patterns: &[String]) -> Result<Vec<usize>> {
        let mut out = BTreeSet::new();
        for p in patterns {
            if let Some(id) = self.get(p) {
                out.insert(id);
                continue;
            }
            let is_glob = p.contains(['*', '?', '[']);
            if is_glob {
                let glob = globset::Glob::new(p)
                    .map_err(|e| Error::Usage(format!("bad task pattern `{p}`: {e}")))?
                    .compile_matcher();
                let before = out.len();
                out.extend((0..self.nodes.len()).filter(|&i| glob.is_match(&self.nodes[i].name)));
                if out.len() > before {
                    continue;
                }
            }
            return Err(Error::UnknownTask {
                name: p.clone(),
                suggestion: suggest(p, self.nodes.iter().map(|n| n.name.as_str())),
                at: None,
            });
        }
        Ok(out.into_iter().collect())
    }

    /// The selected nodes and, unless `only`, everything they depend on; in topological order.
    pub fn closure(&self, roots: &[usize], only: bool) -> Vec<usize> {
        let mut keep = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = roots.to_vec();
        while let Some(n) = stack.pop() {
            if keep[n] {
                continue;
            }
            keep[n] = true;
            let expand = !only || matches!(self.nodes[n].action, Action::Group);
            if expand {
                stack.extend(&self.nodes[n].deps);
            }
        }
        self.topo_order().into_iter().filter(|&n| keep[n]).collect()
    }

    /// Every node, dependencies before dependents, ties by declaration order (stable output).
    pub fn topo_order(&self) -> Vec<usize> {
        crate::dag::post_order(self.nodes.len(), |n| &self.nodes[n].deps)
    }

    /// The direct dependents of each node.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for &d in &n.deps {
                out[d].push(i);
            }
        }
        out
    }
}

fn verb(b: Builtin) -> &'static str {
    match b {
        Builtin::Changed => "Check",
        Builtin::Build => "Build",
        Builtin::Test => "Test",
        Builtin::Manifest => "Write the manifest of",
        Builtin::Push => "Push",
    }
}

/// Cycles among declared tasks, reported as the loop `a -> b -> a` with the `deps` entry of `a`
/// that starts it. A dep on a subtask (`build:base`) counts as a dep on its builtin task: every
/// subtask of a builtin depends on the whole of each non-builtin dep, so such a loop is real.
/// Deps that do not exist are reported later, with a suggestion.
fn check_declared_cycles(project: &Project) -> Result<()> {
    let index: HashMap<&str, usize> = project
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let declared_task = |dep: &str| {
        index.get(dep).copied().or_else(|| {
            let (task, _) = dep.split_once(':')?;
            let owner = index.get(task).copied()?;
            matches!(project.tasks[owner].kind, TaskKind::Builtin(_)).then_some(owner)
        })
    };
    let deps: Vec<Vec<usize>> = project
        .tasks
        .iter()
        .map(|t| {
            t.deps
                .iter()
                .filter_map(|(d, _)| declared_task(d))
                .collect()
        })
        .collect();
    let Some(cycle) = crate::dag::find_cycle(deps.len(), |n| &deps[n]) else {
        return Ok(());
    };
    let (first, second) = (cycle[0], cycle[1]);
    let at = project.tasks[first]
        .deps
        .iter()
        .find(|(d, _)| declared_task(d) == Some(second))
        .map(|(_, at)| at.clone());
    Err(Error::Cycle {
        path: cycle
            .iter()
            .map(|&t| project.tasks[t].name.clone())
            .collect(),
        at,
    })
}
