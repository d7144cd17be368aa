//! `hand-off = "archive"` (SPEC §4): after `build:X`, X is exported (the engine's image export,
//! under its content tag and this commit's human tag) to `<artifacts-dir>/images/<key>.tar`, so
//! copying the artifacts directory to the next CI job hands X over; a phase there that needs X
//! while its engine lacks it loads the archive. Every built image is exported: test, manifest
//! and push each read every built image, and a child's build reads its parent.
//! An archive counts only when its `manifest.json` lists X's *current* content tag: one of an
//! older identity, or a torn or foreign file, is as good as none (X is rebuilt and re-exported).
use crate::exec::work::TaskError;
use crate::fingerprint::DirtyReason;
use crate::stack::runtime::Runtime;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// One load at a time: two subtasks needing the same image (siblings building on one parent,
/// `test:X` beside `manifest:X`) would otherwise both load it; the second finds it loaded.
static LOADING: Mutex<()> = Mutex::new(());

/// `<artifacts-dir>/images/<key>.tar`, relative to the project root (for messages).
fn relative_path(rt: &Runtime, v: usize) -> PathBuf {
    rt.artifacts_dir
        .join("images")
        .join(format!("{}.tar", rt.variant(v).key))
}

/// The tags the archive of `v` holds; None when there is no archive or it cannot be read.
fn archived_tags(rt: &Runtime, v: usize) -> Option<Vec<String>> {
    dorun_docker::archive_tags(&rt.root.join(relative_path(rt, v))).ok()
}

/// Whether the archive of `v` holds its current content tag (and, with `human`, this commit's
/// human tag too).
fn holds(rt: &Runtime, v: usize, human: bool) -> Result<bool, TaskError> {
    let Some(tags) = archived_tags(rt, v) else {
        return Ok(false);
    };
    let content = rt.facts(v)?.content.to_string();
    let has = |reference: &str| tags.iter().any(|t| t == reference);
    Ok(has(&content) && (!human || has(&rt.human(v).to_string())))
}

/// Exports `v` unless its archive already holds both its tags. The archive appears whole or
/// not at all (`write_atomic_with`): a job killed mid-export leaves only a temp file, which no
/// later phase reads and the next run sweeps.
pub(super) fn export(rt: &Runtime, v: usize, log: &mut File) -> Result<(), TaskError> {
    let rel = relative_path(rt, v);
    if holds(rt, v, true)? {
        let _ = writeln!(log, "{} already holds this image", rel.display());
        return Ok(());
    }
    let content = rt.facts(v)?.content.to_string();
    let human = rt.human(v).to_string();
    let engine = rt.engine()?;
    let started = std::time::Instant::now();
    let mut size = 0;
    crate::atomic_file::write_atomic_with(&rt.root.join(&rel), |file| {
        size = engine
            .export_image(&[&content, &human], file)
            .map_err(Failed::Engine)?;
        Ok::<_, Failed>(())
    })
    .map_err(|failed| match failed {
        Failed::Engine(e) => TaskError::from(e),
        Failed::File(e) => TaskError::new(format!("cannot write {}: {e}", rel.display())),
    })?;
    let _ = writeln!(
        log,
        "exported {content} and {human} to {} ({size} bytes, {:.1}s)",
        rel.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Why an export failed: the engine's answer, or the file.
enum Failed {
    Engine(dorun_docker::DockerError),
    File(std::io::Error),
}

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Failed {
        Failed::File(e)
    }
}

/// Whether an earlier job left the archive of `v`'s current identity.
pub(super) fn exists(rt: &Runtime, v: usize) -> Result<bool, TaskError> {
    holds(rt, v, false)
}

/// Whether an earlier job of this commit built `v`: its archive holds both tags.
pub(super) fn built_at_this_commit(rt: &Runtime, v: usize) -> Result<bool, TaskError> {
    holds(rt, v, true)
}

/// Why `build:X` must run although X is in the engine: its archive is missing or stale.
pub(super) fn missing(rt: &Runtime, v: usize) -> Result<Option<DirtyReason>, TaskError> {
    Ok((!holds(rt, v, true)?)
        .then(|| DirtyReason::OutputMissing(relative_path(rt, v).display().to_string())))
}

/// Loads the archive of `v` into the engine; Ok(false) when there is none for its identity.
/// An archive from an earlier commit of the same identity gets this commit's human tag.
pub(super) fn import(rt: &Runtime, v: usize, log: &mut File) -> Result<bool, TaskError> {
    let _one_at_a_time = crate::sync::lock(&LOADING);
    let content = rt.facts(v)?.content.clone();
    if rt.local_image(&content)?.is_some() {
        return Ok(true);
    }
    if !exists(rt, v)? {
        return Ok(false);
    }
    let rel = relative_path(rt, v);
    let engine = rt.engine()?;
    let started = std::time::Instant::now();
    rt.local_changed(&[&content, rt.human(v)]);
    let loaded = engine
        .load_image(&rt.root.join(&rel))
        .map_err(TaskError::from)?;
    let _ = writeln!(
        log,
        "loaded {} from {} ({:.1}s)",
        loaded.join(", "),
        rel.display(),
        started.elapsed().as_secs_f64()
    );
    let Some(id) = rt.local_image(&content)? else {
        return Err(TaskError::new(format!(
            "{} did not give the engine {content} (it loaded {})",
            rel.display(),
            loaded.join(", ")
        )));
    };
    let human = rt.human(v);
    if rt.local_image(human)?.as_deref() != Some(id.as_str()) {
        engine
            .tag_reference(&content.to_string(), &human.to_string())
            .map_err(TaskError::from)?;
    }
    Ok(true)
}
