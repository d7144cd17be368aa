//! The image stack: the spec, identities, and the builtin image tasks as `Work` for the engine.
pub(crate) mod appended_memo;
pub(crate) mod artifacts;
pub(crate) mod bases;
pub(crate) mod build;
mod build_fingerprint;
pub(crate) mod build_record;
pub(crate) mod changed;
pub(crate) mod content_memo;
pub(crate) mod deadlines;
pub(crate) mod early_listing;
pub(crate) mod facts;
pub(crate) mod git;
pub(crate) mod hand_off;
pub(crate) mod identity;
pub(crate) mod keep;
pub(crate) mod ledger;
pub(crate) mod local_view;
pub(crate) mod manifest;
pub(crate) mod metrics_beside;
pub(crate) mod metrics_record;
pub(crate) mod moving_tags;
pub(crate) mod owner;
pub(crate) mod pipeline;
pub(crate) mod previous;
pub(crate) mod prune;
pub(crate) mod published;
pub(crate) mod published_memory;
pub(crate) mod push;
pub(crate) mod registry_view;
pub(crate) mod report;
pub(crate) mod restat;
pub(crate) mod runtime;
pub(crate) mod secrets;
pub(crate) mod test;

use crate::config::{Builtin, Project};
use crate::exec::work::Work;
use crate::fingerprint::StatCache;
use crate::graph::ImageJob;
use runtime::Runtime;
use std::sync::Arc;

/// The image tasks' shared runtime, or none when tasks.toml has no [stack].
pub(crate) struct Stack {
    pub rt: Option<Arc<Runtime>>,
}

/// Fails (exit 2) on a malformed deadline in the environment, when there is a stack.
pub(crate) fn stack(project: &Project, cache: Arc<StatCache>) -> crate::error::Result<Stack> {
    let Some(spec) = &project.stack else {
        return Ok(Stack { rt: None });
    };
    let dirs = runtime::Dirs {
        root: project.root.clone(),
        artifacts_dir: project.settings.artifacts_dir.clone(),
        manifests_dir: project.settings.manifests_dir.clone(),
        state_dir: project.root.join(&project.settings.state_dir),
    };
    let rt = Arc::new(Runtime::new(
        dirs,
        spec.clone(),
        cache,
        deadlines::Deadlines::from_env()?,
    ));
    // A bad checks.toml is a configuration error too: exit 2 with file:line:col, before
    // anything runs (the test folders found for it are the ones the run uses).
    test::validate_all(&rt)?;
    Ok(Stack { rt: Some(rt) })
}

impl Stack {
    pub(crate) fn work(&self, job: &ImageJob) -> Arc<dyn Work> {
        let rt = self
            .rt
            .clone()
            .expect("image jobs exist only with a [stack]");
        match (job.builtin, job.variant) {
            (Builtin::Changed, _) => Arc::new(changed::ChangedWork { rt }),
            (Builtin::Build, Some(variant)) => Arc::new(build::BuildWork { rt, variant }),
            (Builtin::Test, Some(variant)) => Arc::new(test::TestWork { rt, variant }),
            (Builtin::Manifest, Some(variant)) => Arc::new(manifest::ManifestWork { rt, variant }),
            (Builtin::Push, Some(variant)) => Arc::new(push::PushWork { rt, variant }),
            (b, None) => unreachable!("{} always expands per image", b.name()),
        }
    }

    /// Called when a task succeeds: `keep-images` removes the images no task needs any more.
    pub(crate) fn success_hook(&self) -> Option<Box<dyn Fn(usize) + Send + Sync>> {
        let rt = self.rt.clone()?;
        Some(Box::new(move |node| rt.keeper.succeeded(&rt, node)))
    }

    /// Removes live test containers when the run is interrupted.
    pub(crate) fn interrupt_hook(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        let rt = self.rt.clone()?;
        Some(Box::new(move || {
            if let Ok(engine) = rt.engine() {
                engine.remove_live_containers();
            }
        }))
    }
}
