//! Handing images from one CI job to the next (SPEC §4, `[stack] hand-off`): after `build:X`
//! the image is put where a fresh runner finds it, and a later phase that needs X while the
//! local engine lacks it gets it back from there. One entry point per question, dispatching on
//! the setting; each way lives in its own file (`hand_off/registry.rs`, `hand_off/archive.rs`).
//! Call sites use these functions only, never a way directly.
use super::metrics_record::MetricsRecord;
use super::runtime::Runtime;
use super::test::report::VariantResults;
use crate::config::hand_off::HandOff;
use crate::exec::work::TaskError;
use crate::fingerprint::DirtyReason;
use dorun_docker::Manifest;
use std::fs::File;
use std::io::Write;

mod archive;
mod registry;

pub(crate) use registry::StagingMemo;

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

/// Why `build:X` must run although X is in the local engine: it was not handed off (built by a
/// run without hand-off, or before the hand-off was set, or the hand-off was deleted since), so
/// a later job would not find it; `execute` then only hands it off. None when it was, or
/// without hand-off.
pub(crate) fn missing(rt: &Runtime, v: usize) -> Result<Option<DirtyReason>, TaskError> {
    match rt.spec.hand_off {
        HandOff::None => Ok(None),
        HandOff::Registry => registry::missing(rt, v),
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
/// `manifest:X`): when the engine lacks its content tag, fetch it from where it was handed off.
/// Without hand-off, an image an earlier run removed (`keep-images`, whatever this run's
/// setting) comes back from the release repository.
pub(crate) fn ensure_local(rt: &Runtime, v: usize, log: &mut File) -> Result<(), TaskError> {
    if rt.local_image(&rt.facts(v)?.content)?.is_some() {
        return Ok(());
    }
    match rt.spec.hand_off {
        HandOff::None => pull_released(rt, v, log).map(drop),
        HandOff::Registry => registry::pull(rt, v, log).map(drop),
        HandOff::Archive => archive::import(rt, v, log).map(drop),
    }
}

/// Pulls variant `v` under its content tag from the release repository and gives it this
/// commit's human tag, when the registry has it; Ok(false) without a registry or without it.
fn pull_released(rt: &Runtime, v: usize, log: &mut File) -> Result<bool, TaskError> {
    if rt.spec.registry.is_none() || !rt.in_registry(v)? {
        return Ok(false);
    }
    let content = rt.facts(v)?.content.to_string();
    let engine = rt.engine()?;
    let _ = writeln!(log, "--- pull {content}");
    engine
        .pull_with(&content, rt.credentials()?, &mut |line| {
            let _ = writeln!(log, "{line}");
        })
        .map_err(TaskError::from)?;
    engine
        .tag_reference(&content, &rt.human(v).to_string())
        .map_err(TaskError::from)?;
    rt.local_changed(&[&rt.facts(v)?.content, rt.human(v)]);
    Ok(true)
}

/// After `test:X` ran to the end with `results` (already stored in the artifacts directory):
/// make them available to later jobs that lack that directory.
pub(crate) fn after_test(
    rt: &Runtime,
    v: usize,
    results: &VariantResults,
    log: &mut File,
) -> Result<(), TaskError> {
    match rt.spec.hand_off {
        HandOff::Registry => registry::record_results(rt, v, results, log),
        // The archive way carries the artifacts directory, which holds the results already.
        HandOff::None | HandOff::Archive => Ok(()),
    }
}

/// After `test:X` wrote variant `v`'s metrics record: make it available to the push job, which
/// stores it beside the released image.
pub(crate) fn after_measure(
    rt: &Runtime,
    v: usize,
    record: &MetricsRecord,
    log: &mut File,
) -> Result<(), TaskError> {
    match rt.spec.hand_off {
        HandOff::Registry => registry::record_metrics(rt, v, record, log),
        // The archive way carries the artifacts directory, which holds the record already.
        HandOff::None | HandOff::Archive => Ok(()),
    }
}

/// Variant `v`'s metrics record as the test job handed it off with the staged image; None
/// without a registry hand-off or without one.
pub(crate) fn handed_off_metrics(
    rt: &Runtime,
    v: usize,
) -> Result<Option<MetricsRecord>, TaskError> {
    match rt.spec.hand_off {
        HandOff::Registry => registry::recorded_metrics(rt, v),
        HandOff::None | HandOff::Archive => Ok(None),
    }
}

/// Variant `v`'s test results as an earlier job handed them off, when they were made with the
/// current test fingerprint (identity, test files, limits); None otherwise.
pub(crate) fn handed_off_results(
    rt: &Runtime,
    v: usize,
) -> Result<Option<VariantResults>, TaskError> {
    let found = match rt.spec.hand_off {
        HandOff::Registry => registry::recorded_results(rt, v)?,
        HandOff::None | HandOff::Archive => None,
    };
    let Some(results) = found else {
        return Ok(None);
    };
    let current = super::test::current_digest(rt, v)?;
    Ok((results.fingerprint == current).then_some(results))
}

/// What `push:X` copies to the release repository without the engine: a manifest and the
/// repository holding its blobs (the staging repository, or the release one for an image
/// published earlier). None when images are pushed from the local engine (no registry
/// hand-off), or when no repository has X.
pub(crate) fn promotion_source(
    rt: &Runtime,
    v: usize,
) -> Result<Option<(Manifest, String)>, TaskError> {
    match rt.spec.hand_off {
        HandOff::Registry => registry::promotion_source(rt, v),
        HandOff::None | HandOff::Archive => Ok(None),
    }
}

/// Whether `push:X` promotes from the registry (no engine involved) rather than pushing the
/// local engine's image.
pub(crate) fn promotes(rt: &Runtime) -> bool {
    rt.spec.hand_off == HandOff::Registry
}
