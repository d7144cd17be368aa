//! `hand-off = "archive"`: images exported to `<artifacts>/images/<name>[@plan].tar` and
//! imported by later phases. Not implemented yet: every function answers as if nothing was
//! handed off.
use crate::exec::work::TaskError;
use crate::stack::runtime::Runtime;
use std::fs::File;

pub(super) fn export(_rt: &Runtime, _v: usize, _log: &mut File) -> Result<(), TaskError> {
    Ok(())
}

pub(super) fn exists(_rt: &Runtime, _v: usize) -> Result<bool, TaskError> {
    Ok(false)
}

pub(super) fn import(_rt: &Runtime, _v: usize, _log: &mut File) -> Result<bool, TaskError> {
    Ok(false)
}
