//! Manifests (SPEC §6): manifests/<name>-<tag>.md per image and manifests/STACK.md.
use super::runtime::Runtime;
use crate::exec::work::{Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint, TaskRecord};
use std::sync::Arc;

pub struct ManifestWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

impl Work for ManifestWork {
    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let _ = (&self.rt, self.variant);
        Err(TaskError::new("images-manifest is not implemented yet"))
    }

    fn stale_reasons(&self, _cx: &TaskCx, _record: &TaskRecord) -> Vec<DirtyReason> {
        Vec::new()
    }

    fn execute(&self, _cx: &TaskCx, _log: &mut std::fs::File) -> Result<Produced, TaskError> {
        Err(TaskError::new("images-manifest is not implemented yet"))
    }
}
