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
    /// whole, and (for builds) on its parent image's build. Push is gated on every test of the
    /// stack passing (SPEC §6), so `push:X` depends on each builtin dep as a whole: on its group
    /// node (`test`), which finishes as soon as all its subtasks have. One edge per dep, not one
    /// per subtask: N pushes on N tests were N² edges (4.2 million at 2061 images).
    fn wire_subtasks(&mut self, project: &Project, task: &str, builtin: Builtin, deps: &[usize]) {
        let stack = project.stack.as_ref().expect("checked in resolve");
        let group = self.index[task];
        for v in &stack.variants {
            let me = self.index[&format!("{task}:{}", v.key)];
            let mut wired = Vec::new();
            for &dep in deps {
                let dep_node = &self.nodes[dep];
                let is_per_image = matches!(dep_node.action, Action::Group);
                if is_per_image && builtin != Builtin::Push {
                    wired.push(self.index[&format!("{}:{}", dep_node.name, v.key)]);
                    // A test needs the stack images its services run built too.
                    if builtin == Builtin::Test {
                        for service in stack.services_of(v).values() {
                            if let Some(sv) = stack.service_variant(v, &service.image) {
                                let key = &stack.variants[sv].key;
                                wired.push(self.index[&format!("{}:{key}", dep_node.name)]);
                            }
                        }
                    }
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
    /// With `only`, a builtin's name among the dependencies of a kept node is kept too when some
    /// of its subtasks are: it stands for them (`push:X` waits for the `test` group), so the
    /// selected ones are still waited for (`--only test:a push` pushes after `test:a`).
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
        if only {
            // Each group once: thousands of pushes name the same `test`.
            let groups_named: BTreeSet<usize> = (0..self.nodes.len())
                .filter(|&n| keep[n])
                .flat_map(|n| self.nodes[n].deps.iter().copied())
                .filter(|&d| !keep[d] && matches!(self.nodes[d].action, Action::Group))
                .collect();
            for d in groups_named {
                keep[d] = self.nodes[d].deps.iter().any(|&m| keep[m]);
            }
        }
        self.topo_order().into_iter().filter(|&n| keep[n]).collect()
    }

    /// Every node, dependencies before dependents, ties by declaration order (stable output).
    pub fn topo_order(&self) -> Vec<usize> {
        crate::dag::post_order(self.nodes.len(), |n| &self.nodes[n].deps)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph of a tasks.toml, with a `FROM scratch` Dockerfile for each of `images`.
    fn graph(tasks_toml: &str, images: &[&str]) -> Result<Graph> {
        let dir = tempfile::tempdir().unwrap();
        for image in images {
            let image_dir = dir.path().join("images").join(image);
            std::fs::create_dir_all(&image_dir).unwrap();
            std::fs::write(image_dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        }
        std::fs::write(dir.path().join("tasks.toml"), tasks_toml).unwrap();
        Graph::build(&crate::config::load(&dir.path().join("tasks.toml"))?)
    }

    fn names(g: &Graph, ids: &[usize]) -> Vec<String> {
        ids.iter().map(|&i| g.nodes[i].name.clone()).collect()
    }

    fn deps_of(g: &Graph, name: &str) -> Vec<String> {
        names(g, &g.nodes[g.get(name).unwrap()].deps)
    }

    fn select(g: &Graph, patterns: &[&str]) -> Result<Vec<String>> {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        Ok(names(g, &g.select(&patterns)?))
    }

    const SHELL: &str = r#"
[tasks.gen]
run = "true"
[tasks.test-unit]
run = "true"
deps = ["gen"]
[tasks.test-lint]
run = "true"
[tasks.deploy]
run = "true"
deps = ["test-unit", "test-lint"]
"#;

    /// A stack of base <- child with the usual pipeline, and a lint task after the builds.
    const STACK: &str = r#"
[stack]
[images.base]
[images.child]
depends-on = "base"
[tasks]
changed = { builtin = "images-changed" }
build = { builtin = "images-build", deps = ["changed"] }
test = { builtin = "images-test", deps = ["build"] }
push = { builtin = "images-push", deps = ["test"] }
lint = { run = "true", deps = ["build:base"] }
"#;

    #[test]
    fn selection_takes_names_and_globs_in_graph_order_without_duplicates() {
        let g = graph(SHELL, &[]).unwrap();
        assert_eq!(select(&g, &["deploy"]).unwrap(), ["deploy"]);
        assert_eq!(
            select(&g, &["test-*", "test-lint"]).unwrap(),
            ["test-lint", "test-unit"]
        );
        assert_eq!(select(&g, &["*"]).unwrap().len(), 4);
        // `?` and `[...]` are globs too.
        assert_eq!(select(&g, &["ge?"]).unwrap(), ["gen"]);
        assert_eq!(select(&g, &["test-[l]*"]).unwrap(), ["test-lint"]);
    }

    #[test]
    fn an_unknown_name_or_a_glob_matching_nothing_suggests_the_nearest_task() {
        let g = graph(SHELL, &[]).unwrap();
        match select(&g, &["deplyo"]) {
            Err(Error::UnknownTask {
                name, suggestion, ..
            }) => {
                assert_eq!(name, "deplyo");
                assert_eq!(suggestion.as_deref(), Some("deploy"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            select(&g, &["nothing*"]),
            Err(Error::UnknownTask {
                suggestion: None,
                ..
            })
        ));
        assert!(matches!(select(&g, &["[z-a]"]), Err(Error::Usage(_))));
    }

    #[test]
    fn closure_adds_dependencies_before_dependents_unless_only() {
        let g = graph(SHELL, &[]).unwrap();
        let deploy = [g.get("deploy").unwrap()];
        let all = names(&g, &g.closure(&deploy, false));
        assert_eq!(all.len(), 4, "{all:?}");
        let at = |n: &str| all.iter().position(|x| x == n).unwrap();
        assert!(at("gen") < at("test-unit") && at("test-unit") < at("deploy"));
        assert!(at("test-lint") < at("deploy"));
        assert_eq!(names(&g, &g.closure(&deploy, true)), ["deploy"]);
        // Unrelated tasks stay out.
        let lint = [g.get("test-lint").unwrap()];
        assert_eq!(names(&g, &g.closure(&lint, false)), ["test-lint"]);
    }

    #[test]
    fn a_builtin_expands_into_one_subtask_per_image_wired_to_its_parent_and_deps() {
        let g = graph(STACK, &["base", "child"]).unwrap();
        assert_eq!(deps_of(&g, "build"), ["build:base", "build:child"]);
        assert_eq!(deps_of(&g, "build:base"), ["changed"]);
        assert_eq!(deps_of(&g, "build:child"), ["build:base", "changed"]);
        // A builtin dep is taken per image...
        assert_eq!(deps_of(&g, "test:child"), ["build:child"]);
        // ...except by push, which waits for every test of the stack: for the group `test`,
        // which gathers them all.
        assert_eq!(deps_of(&g, "push:base"), ["test"]);
        assert_eq!(deps_of(&g, "test"), ["test:base", "test:child"]);
        // A shell task can depend on one subtask.
        assert_eq!(deps_of(&g, "lint"), ["build:base"]);
        assert_eq!(g.nodes[g.get("build:child").unwrap()].doc, "Build child");
        let test = &g.nodes[g.get("test").unwrap()];
        assert!(test
            .deps
            .iter()
            .all(|&i| g.nodes[i].parent_task.as_deref() == Some("test")));
        assert_eq!(
            select(&g, &["build:*"]).unwrap(),
            ["build:base", "build:child"]
        );
    }

    #[test]
    fn only_still_expands_a_builtin_into_its_subtasks_but_not_their_deps() {
        let g = graph(STACK, &["base", "child"]).unwrap();
        let test = [g.get("test").unwrap()];
        assert_eq!(
            names(&g, &g.closure(&test, true)),
            ["test:base", "test:child", "test"]
        );
        let closure = names(&g, &g.closure(&test, false));
        for needed in [
            "changed",
            "build:base",
            "build:child",
            "test:base",
            "test:child",
        ] {
            assert!(closure.iter().any(|n| n == needed), "{needed}: {closure:?}");
        }
        assert!(
            !closure.iter().any(|n| n.starts_with("push")),
            "{closure:?}"
        );
    }

    #[test]
    fn only_keeps_the_group_a_push_waits_for_when_some_of_its_subtasks_are_selected() {
        let g = graph(STACK, &["base", "child"]).unwrap();
        let ids =
            |names: &[&str]| -> Vec<usize> { names.iter().map(|n| g.get(n).unwrap()).collect() };
        // `--only test:base push`: the pushes still wait for test:base, through `test`.
        let order = names(&g, &g.closure(&ids(&["test:base", "push"]), true));
        assert_eq!(
            order,
            ["test:base", "test", "push:base", "push:child", "push"],
            "{order:?}"
        );
        // `--only push` (the CI's final job): no test is selected, none is waited for.
        assert_eq!(
            names(&g, &g.closure(&ids(&["push"]), true)),
            ["push:base", "push:child", "push"]
        );
        // Nor is a group no selected task depends on.
        assert_eq!(
            names(&g, &g.closure(&ids(&["test:base"]), true)),
            ["test:base"]
        );
    }

    #[test]
    fn the_edges_of_a_stack_grow_linearly_with_its_images() {
        // One base and N-1 children, the whole pipeline: each push depends on the two groups
        // it waits for, not on the 2N test and manifest subtasks.
        let edges = |n: usize| {
            let mut toml = String::from("[stack]\n[images.base]\n");
            let mut images = vec!["base".to_string()];
            for i in 1..n {
                toml.push_str(&format!("[images.c{i}]\ndepends-on = \"base\"\n"));
                images.push(format!("c{i}"));
            }
            toml.push_str(
                "[tasks]\nchanged = { builtin = \"images-changed\" }\n\
                 build = { builtin = \"images-build\", deps = [\"changed\"] }\n\
                 test = { builtin = \"images-test\", deps = [\"build\"] }\n\
                 manifest = { builtin = \"images-manifest\", deps = [\"build\"] }\n\
                 push = { builtin = \"images-push\", deps = [\"test\", \"manifest\"] }\n",
            );
            let images: Vec<&str> = images.iter().map(String::as_str).collect();
            let g = graph(&toml, &images).unwrap();
            for node in g.nodes.iter().filter(|n| n.parent_task.is_some()) {
                assert!(node.deps.len() <= 2, "{}: {:?}", node.name, node.deps);
            }
            assert_eq!(deps_of(&g, "push:c1"), ["manifest", "test"]);
            g.nodes.iter().map(|n| n.deps.len()).sum::<usize>()
        };
        let (small, large) = (edges(50), edges(400));
        // Per image: build (changed, parent), test, manifest, push (2) and one group edge for
        // each of the four subtasks: 10.
        assert!(large <= 10 * 400, "{large} edges for 400 images");
        assert!(
            large < 9 * small,
            "{small} edges at 50 images, {large} at 400"
        );
    }

    #[test]
    fn cycles_are_reported_as_the_loop_from_the_deps_entry_that_starts_it() {
        let cycle = |toml: &str, images: &[&str]| match graph(toml, images) {
            Err(Error::Cycle { path, at }) => (path.join(" -> "), at.map(|a| a.line)),
            other => panic!("no cycle: {other:?}"),
        };
        assert_eq!(
            cycle(
                "[tasks.a]\nrun = \"true\"\ndeps = [\"b\"]\n[tasks.b]\nrun = \"true\"\ndeps = [\"a\"]\n",
                &[]
            ),
            ("a -> b -> a".to_string(), Some(3))
        );
        // Through a subtask: every subtask of `build` depends on the whole of `prep`.
        assert_eq!(
            cycle(
                "[stack]\n[images.base]\n[tasks.prep]\nrun = \"true\"\ndeps = [\"build:base\"]\n\
                 [tasks.build]\nbuiltin = \"images-build\"\ndeps = [\"prep\"]\n",
                &["base"]
            ),
            ("build -> prep -> build".to_string(), Some(8))
        );
    }
}
