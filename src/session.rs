//! A loaded project with its graph, its state, and the shared pieces every command uses.
use crate::config::Project;
use crate::error::Result;
use crate::exec::plan::{predict, Prediction};
use crate::exec::procs::Procs;
use crate::exec::runner::Shared;
use crate::exec::shell::ShellWork;
use crate::exec::work::Work;
use crate::fingerprint::StatCache;
use crate::graph::{Action, Graph};
use crate::stack::early_listing::EarlyListing;
use crate::state::State;
use std::path::PathBuf;
use std::sync::Arc;

/// A loaded project with its graph and the shared pieces every command uses.
pub(crate) struct Session {
    pub shared: Arc<Shared>,
    pub stack: crate::stack::Stack,
    /// The engine's listing started before the project was loaded, until `preflight` takes
    /// it as the run's or drops it.
    early_listing: std::sync::Mutex<Option<EarlyListing>>,
}

impl Session {
    /// `early_listing`: the engine's listing, if one was started before the project loaded.
    pub(crate) fn new(
        project: Project,
        graph: Graph,
        early_listing: Option<EarlyListing>,
    ) -> Result<Session> {
        let project = Arc::new(project);
        let state = Arc::new(State::new(project.root.join(&project.settings.state_dir)));
        let cache = Arc::new(StatCache::load(&state.stat_cache_path()));
        let procs = Arc::new(Procs::default());
        let images = crate::stack::stack(&project, cache.clone())?;
        let works: Vec<Option<Arc<dyn Work>>> = graph
            .nodes
            .iter()
            .map(|n| match &n.action {
                Action::Group => None,
                Action::Shell(spec) => {
                    Some(Arc::new(ShellWork { spec: spec.clone() }) as Arc<dyn Work>)
                }
                Action::Image(job) => Some(images.work(job)),
            })
            .collect();
        Ok(Session {
            shared: Arc::new(Shared {
                project,
                graph: Arc::new(graph),
                state,
                cache,
                procs,
                works,
                on_interrupt: images.interrupt_hook(),
                on_success: images.success_hook(),
            }),
            stack: images,
            early_listing: std::sync::Mutex::new(early_listing),
        })
    }

    /// Half-written files of a killed run: its temp files in the state, artifacts and
    /// manifests dirs. Called under the project lock.
    pub(crate) fn sweep_temp_files(&self) {
        let project = &self.shared.project;
        let settings = &project.settings;
        let dirs: Vec<PathBuf> = [
            &settings.state_dir,
            &settings.artifacts_dir,
            &settings.manifests_dir,
        ]
        .into_iter()
        .map(|d| project.root.join(d))
        .collect();
        crate::atomic_file::sweep_temp_files(&dirs);
    }

    pub(crate) fn graph(&self) -> &Graph {
        &self.shared.graph
    }

    /// Selected nodes (all declared tasks when `patterns` is empty) and their closure.
    pub(crate) fn selection(
        &self,
        patterns: &[String],
        only: bool,
    ) -> Result<(Vec<usize>, Vec<usize>)> {
        let roots = if patterns.is_empty() {
            let g = self.graph();
            (0..g.nodes.len())
                .filter(|&i| g.nodes[i].parent_task.is_none())
                .collect()
        } else {
            self.graph().select(patterns)?
        };
        let order = self.graph().closure(&roots, only);
        Ok((roots, order))
    }

    /// -B applies to the selected tasks and, for a builtin's name, to its subtasks.
    pub(crate) fn forced(&self, roots: &[usize], force: bool) -> Vec<bool> {
        let g = self.graph();
        let mut forced = vec![false; g.nodes.len()];
        if force {
            for &r in roots {
                forced[r] = true;
                if matches!(g.nodes[r].action, Action::Group) {
                    for &d in &g.nodes[r].deps {
                        forced[d] = true;
                    }
                }
            }
        }
        forced
    }

    /// The stack runtime, when any of `order` is an image task.
    pub(crate) fn images_in(&self, order: &[usize]) -> Option<&crate::stack::runtime::Runtime> {
        let rt = self.stack.rt.as_deref()?;
        order
            .iter()
            .any(|&n| matches!(self.graph().nodes[n].action, Action::Image(_)))
            .then_some(rt)
    }

    /// Image tasks need the engine (and registry): check once, up front, for exit code 3.
    /// `purpose`: whether tasks are run next or only predicted (`plan`).
    /// Then the external base images of the selected variants are resolved, all at once:
    /// a base registry that does not answer (with the image not in the engine) is exit 3 too.
    pub(crate) fn preflight(&self, order: &[usize], purpose: Purpose) -> Result<()> {
        let Some(rt) = self.images_in(order) else {
            return Ok(());
        };
        // A run's shell tasks may write what the images are built from (the example copies
        // busybox into base's context): identities hashed now would be those of the files
        // before them, computed once and kept. The image tasks look up in bulk when they start.
        // A builtin's name (`build`) is a group of image tasks, not a shell task: counted as
        // one, it sent every `dorun build` to ask the registry one image at a time.
        let runs_shell_tasks = order
            .iter()
            .any(|&n| matches!(self.graph().nodes[n].action, Action::Shell(_)));
        let look_up_now = purpose != Purpose::Run || !runs_shell_tasks;
        // Taken out either way: a listing from before the shell tasks ran is not the run's.
        let early = crate::sync::lock(&self.early_listing).take();
        if look_up_now {
            // The engine's one listing takes as long as everything below together on a big
            // engine (it reads every image's config): it runs while the registry is pinged,
            // the Dockerfiles are read and the identities are hashed.
            rt.start_listing_from(early);
        }
        rt.preflight()?;
        let variants = self.variants_in(rt, order);
        rt.resolve_bases(variants.iter().copied())?;
        if !look_up_now {
            return Ok(());
        }
        // The registry is asked about every selected image at once; only a registry that does
        // not answer stops the run here, any other failure is that of the images asked about.
        match rt.look_up_all(&variants, &self.pushes_in(order)) {
            Err(e) if e.environment => Err(crate::error::Error::Environment(e.message)),
            _ => Ok(()),
        }
    }

    /// The image variants the tasks of `order` are about, in build order (the stack-wide
    /// `images-changed` is about every variant).
    fn variants_in(&self, rt: &crate::stack::runtime::Runtime, order: &[usize]) -> Vec<usize> {
        self.variants_of(rt, order, true)
    }

    /// The variants the tasks of `order` are about; the stack-wide task counts for every
    /// variant only with `whole_stack`.
    fn variants_of(
        &self,
        rt: &crate::stack::runtime::Runtime,
        order: &[usize],
        whole_stack: bool,
    ) -> Vec<usize> {
        let mut variants = std::collections::BTreeSet::new();
        for &n in order {
            if let Action::Image(job) = &self.graph().nodes[n].action {
                match job.variant {
                    Some(v) => {
                        variants.insert(v);
                    }
                    None if whole_stack => variants.extend(0..rt.spec.variants.len()),
                    None => {}
                }
            }
        }
        variants.into_iter().collect()
    }

    /// The variants whose push subtask is in `order`: their human and stable tags are asked
    /// about with the content tags.
    fn pushes_in(&self, order: &[usize]) -> Vec<usize> {
        let pushes = order
            .iter()
            .filter_map(|&n| match &self.graph().nodes[n].action {
                Action::Image(job) if job.builtin == crate::config::Builtin::Push => job.variant,
                _ => None,
            });
        pushes
            .collect::<std::collections::BTreeSet<usize>>()
            .into_iter()
            .collect()
    }

    /// A run that builds images reads the build secrets first: a missing one is exit 2
    /// before anything runs (not when the first image that needs it is built).
    pub(crate) fn read_secrets(&self, order: &[usize]) -> Result<()> {
        let Some(rt) = self.images_in(order) else {
            return Ok(());
        };
        let builds = order.iter().any(|&n| {
            matches!(
                &self.graph().nodes[n].action,
                Action::Image(job) if job.builtin == crate::config::Builtin::Build
            )
        });
        if builds {
            rt.secrets()?;
        }
        Ok(())
    }

    /// For `list` and `info`, which answer from local state what needs no engine or registry:
    /// why the engine or registry is unavailable, if it is (said once, on stderr).
    pub(crate) fn environment_note(&self, order: &[usize]) -> Option<String> {
        let rt = self.images_in(order)?;
        let Some(why) = rt.check_environment() else {
            // Every image of `order` asked about at once, not one request each as it is
            // decided; a failure here is reported by the statuses that depend on it. Not every
            // image for the stack-wide `changed` in the order: its status asks nothing (`info`
            // on one image of 2061 asked about all of them).
            let variants = self.variants_of(rt, order, false);
            if variants.len() <= crate::stack::runtime::Runtime::FEW_IMAGES {
                rt.ask_engine_per_image();
            }
            let _ = rt.look_up_all(&variants, &self.pushes_in(order));
            return None;
        };
        eprintln!("dorun: warning: {why}\n  statuses that depend on it are shown as unknown");
        Some(why)
    }

    pub(crate) fn predict(&self, order: &[usize], forced: &[bool]) -> Vec<Prediction> {
        predict(&self.shared, order, forced)
    }
}

/// What follows a preflight: the tasks run, or are only predicted (`plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Run,
    Predict,
}
