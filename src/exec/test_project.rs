//! For unit tests of the executor: a project of shell tasks loaded as `dorun` loads it, and a
//! reporter that says nothing.
use super::runner::Shared;
use super::shell::ShellWork;
use super::step::Step;
use super::work::Work;
use crate::graph::Action;
use crate::report::{Reporter, TaskResult};
use std::path::Path;
use std::sync::Arc;

/// What the workers of a run share, for the project whose `tasks.toml` is in `dir`; every
/// success (ran or up to date) is handed to `on_success` on the worker's thread.
pub(crate) fn shared(
    dir: &Path,
    on_success: Option<Box<dyn Fn(usize) + Send + Sync>>,
) -> Arc<Shared> {
    let project = Arc::new(crate::config::load(&dir.join("tasks.toml")).unwrap());
    let graph = crate::graph::Graph::build(&project).unwrap();
    let state = Arc::new(crate::state::State::new(
        project.root.join(&project.settings.state_dir),
    ));
    let works = (graph.nodes.iter())
        .map(|n| match &n.action {
            Action::Shell(spec) => {
                Some(Arc::new(ShellWork { spec: spec.clone() }) as Arc<dyn Work>)
            }
            _ => None,
        })
        .collect();
    Arc::new(Shared {
        cache: Arc::new(crate::fingerprint::StatCache::load(
            &state.stat_cache_path(),
        )),
        project,
        graph: Arc::new(graph),
        state,
        procs: Default::default(),
        works,
        on_interrupt: None,
        on_success,
    })
}

pub(crate) struct Silent;

impl Reporter for Silent {
    fn begin(&mut self, _: usize) {}
    fn started(&mut self, _: &str, _: &str) {}
    fn step(&mut self, _: &str, _: &Step) {}
    fn finished(&mut self, _: &TaskResult, _: Option<&str>) {}
    fn message(&mut self, _: &str) {}
    fn end(&mut self, _: &[TaskResult]) {}
}
