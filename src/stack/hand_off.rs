//! Handing images from one CI job to the next (SPEC §4, `[stack] hand-off`): after `build:X`
//! the image is put where a fresh runner finds it, and a later phase that needs X while the
//! local engine lacks it gets it back from there. One entry point per question, dispatching on
//! the setting; each way lives in its own file (`hand_off/registry.rs`, `hand_off/archive.rs`).
//! Call sites use these functions only, never a way directly.
use super::runtime::Runtime;
use crate::config::hand_off::HandOff;
use crate::exec::work::TaskError;
use crate::fingerprint::DirtyReason;
use std::fs::File;

mod archive;
mod registry;

/// After `build:X` built (or tagged) variant `v` in the local engine: make it available to later
/// jobs. Writes what it does to `log`.
pub(crate) fn after_build(rt: &Runtime, v: usize, log: &mut File) -> Result<(), TaskError> {
    match rt.spec.hand_off {
        HandOff::None => Ok(()),
        HandOff::Registry => registry::stage(rt, v, log),
        HandOff::Archive => archive::export(rt, v, log),
    }
}

/// Whether variant `v` (under its current content tag) was already handed off by an earlier
/// job, so that `build:X` is up to date on this machine without building or pulling.
pub(crate) fn is_handed_off(rt: &Runtime, v: usize) -> Result<bool, TaskError> {
    match rt.spec.hand_off {
        HandOff::None => Ok(false),
        HandOff::Registry => registry::is_staged(rt, v),
        HandOff::Archive => archive::exists(rt, v),
    }
}

/// Why `build:X` must run although X is in the local engine under this commit's tags: it was
/// not handed off (built by a run without hand-off, or the hand-off was deleted since), so a
/// later job would not find it. None when it was, or without hand-off.
pub(crate) fn missing(rt: &Runtime, v: usize) -> Result<Option<DirtyReason>, TaskError> {
    match rt.spec.hand_off {
        HandOff::None => Ok(None),
        // The registry way checks staging in `is_handed_off`/`after_build` (its own file).
        HandOff::Registry => Ok(None),
        HandOff::Archive => archive::missing(rt, v),
    }
}

/// Whether variant `v`, absent from this engine, counts as built by this pipeline (IMAGES_BUILT,
/// and so the test lists and the push gate): an earlier job built it and handed it off.
pub(crate) fn built_by_earlier_job(rt: &Runtime, v: usize) -> Result<bool, TaskError> {
    match rt.spec.hand_off {
        HandOff::None => Ok(false),
        HandOff::Registry => registry::is_staged(rt, v),
        HandOff::Archive => archive::built_at_this_commit(rt, v),
    }
}

/// Before a phase uses variant `v` from the local engine (a child's build, `test:X`,
/// `manifest:X`, `push:X`): when the engine lacks its content tag, fetch it from where it was
/// handed off. Ok(true) when the engine has it now, Ok(false) when nothing was handed off.
pub(crate) fn ensure_local(rt: &Runtime, v: usize, log: &mut File) -> Result<bool, TaskError> {
    if rt.local_image(&rt.facts(v)?.content)?.is_some() {
        return Ok(true);
    }
    match rt.spec.hand_off {
        HandOff::None => Ok(false),
        HandOff::Registry => registry::pull(rt, v, log),
        HandOff::Archive => archive::import(rt, v, log),
    }
}
