//! The image stack: the spec, identities, and the builtin image tasks as `Work` for the engine.
pub mod artifacts;
pub mod build;
pub mod changed;
pub mod git;
pub mod identity;
pub mod runtime;
pub mod spec;

use crate::config::{Builtin, Project};
use crate::exec::work::{Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint, TaskRecord};
use crate::graph::ImageJob;
use runtime::Runtime;
use std::sync::Arc;

/// The image tasks' shared runtime, or none when tasks.toml has no [stack].
pub struct Stack {
    pub rt: Option<Arc<Runtime>>,
}

pub fn stack(project: &Project) -> Stack {
    let rt = project.stack.as_ref().map(|spec| {
        Arc::new(Runtime::new(
            project.root.clone(),
            spec.clone(),
            project.settings.artifacts_dir.clone(),
            project.settings.manifests_dir.clone(),
        ))
    });
    Stack { rt }
}

impl Stack {
    pub fn work(&self, job: &ImageJob) -> Arc<dyn Work> {
        let rt = self
            .rt
            .clone()
            .expect("image jobs exist only with a [stack]");
        match (job.builtin, job.variant) {
            (Builtin::Changed, _) => Arc::new(changed::ChangedWork { rt }),
            (Builtin::Build, Some(variant)) => Arc::new(build::BuildWork { rt, variant }),
            (b, _) => Arc::new(Unimplemented(b)),
        }
    }

    /// Removes live test containers when the run is interrupted.
    pub fn interrupt_hook(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        let rt = self.rt.clone()?;
        Some(Box::new(move || {
            if let Ok(engine) = rt.engine() {
                engine.remove_live_containers();
            }
        }))
    }
}

struct Unimplemented(Builtin);

impl Work for Unimplemented {
    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        Err(TaskError::new(format!(
            "{} is not implemented yet",
            self.0.name()
        )))
    }
    fn stale_reasons(&self, _cx: &TaskCx, _r: &TaskRecord) -> Vec<DirtyReason> {
        vec![]
    }
    fn execute(&self, _cx: &TaskCx, _log: &mut std::fs::File) -> Result<Produced, TaskError> {
        Err(TaskError::new(format!(
            "{} is not implemented yet",
            self.0.name()
        )))
    }
}
