//! `hand-off = "registry"`: images staged under their content tag in
//! `<registry>/<staging-namespace>/<image>` (`StackSpec::staging_ref`). Not implemented yet:
//! every function answers as if nothing was handed off.
use crate::exec::work::TaskError;
use crate::stack::runtime::Runtime;
use std::fs::File;

pub(super) fn stage(_rt: &Runtime, _v: usize, _log: &mut File) -> Result<(), TaskError> {
    Ok(())
}

pub(super) fn is_staged(_rt: &Runtime, _v: usize) -> Result<bool, TaskError> {
    Ok(false)
}

pub(super) fn pull(_rt: &Runtime, _v: usize, _log: &mut File) -> Result<bool, TaskError> {
    Ok(false)
}
