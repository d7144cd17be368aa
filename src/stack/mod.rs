//! The image stack: spec, identity, and the builtin image tasks.
pub mod spec;

use crate::config::Project;
use crate::error::Result;
use crate::exec::work::{Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint, TaskRecord};
use crate::graph::{Graph, ImageJob};
use std::sync::Arc;

/// What the image tasks share for one run (the engine connection, the stack spec).
pub struct Runtime {}

pub fn runtime(_project: &Project, _graph: &Graph) -> Result<Runtime> {
    Ok(Runtime {})
}

impl Runtime {
    pub fn work(&self, _job: &ImageJob) -> Arc<dyn Work> {
        Arc::new(Unimplemented)
    }
    pub fn interrupt_hook(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        None
    }
}

struct Unimplemented;

impl Work for Unimplemented {
    fn fingerprint(&self, _cx: &TaskCx) -> std::result::Result<Fingerprint, TaskError> {
        Err(TaskError::new("image tasks are not implemented yet"))
    }
    fn stale_reasons(&self, _cx: &TaskCx, _r: &TaskRecord) -> Vec<DirtyReason> {
        vec![]
    }
    fn execute(
        &self,
        _cx: &TaskCx,
        _log: &mut std::fs::File,
    ) -> std::result::Result<Produced, TaskError> {
        Err(TaskError::new("image tasks are not implemented yet"))
    }
}
