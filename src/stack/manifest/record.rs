//! What a manifest subtask found out about one image (`artifacts/manifest/<name>[@plan].json`),
//! and the files rendered from it: `manifests/<name>-<tag>.md` and `manifests/STACK.md`. Both
//! are re-rendered from records (never patched), by the manifest subtask and again after a push
//! adds the digest, always under the artifacts lock so parallel subtasks leave one consistent
//! STACK.md.
use super::format as manifest_format;
use super::model::{ManifestRecord, StackRow};
use super::render as manifest_render;
use crate::exec::work::{now_unix, TaskError};
use crate::stack::push::record as push_record;
use crate::stack::runtime::Runtime;
use serde::Serialize;
use std::path::PathBuf;

/// `<name>-<human tag>.md`: the plan shows in the tag's prefix.
pub fn file_name(rt: &Runtime, v: usize) -> String {
    format!("{}-{}.md", rt.variant(v).image, rt.human(v).tag())
}

pub fn manifests_dir(rt: &Runtime) -> PathBuf {
    rt.root.join(&rt.manifests_dir)
}

fn record_path(rt: &Runtime, v: usize) -> PathBuf {
    rt.artifact(&format!("manifest/{}.json", rt.variant(v).key))
}

pub fn read(rt: &Runtime, v: usize) -> Option<ManifestRecord> {
    let text = std::fs::read_to_string(record_path(rt, v)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The record if it describes the current identity (pages of older builds are history).
pub fn read_current(rt: &Runtime, v: usize) -> Option<ManifestRecord> {
    let rec = read(rt, v)?;
    let facts = rt.facts(v).ok()?;
    (rec.content_reference == facts.content.to_string()).then_some(rec)
}

/// Stores a new record and its page, replacing the page of the variant's previous record (a
/// new commit or identity renames it), then STACK.md.
pub fn save(rt: &Runtime, v: usize, rec: &ManifestRecord) -> Result<(), TaskError> {
    let _guard = rt.artifacts_lock.lock().unwrap_or_else(|p| p.into_inner());
    let old = read(rt, v);
    write_json(&record_path(rt, v), rec)?;
    render_page(rt, v, rec)?;
    if let Some(old) = old {
        let stale = old.file != rec.file && !old.file.contains('/') && !old.file.is_empty();
        if stale {
            let _ = std::fs::remove_file(manifests_dir(rt).join(&old.file));
        }
    }
    write_stack(rt)
}

/// After a push: the variant's page (now with its digest) and STACK.md.
pub fn refresh(rt: &Runtime, v: usize) -> Result<(), TaskError> {
    let _guard = rt.artifacts_lock.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rec) = read_current(rt, v) {
        render_page(rt, v, &rec)?;
    }
    write_stack(rt)
}

fn render_page(rt: &Runtime, v: usize, rec: &ManifestRecord) -> Result<(), TaskError> {
    let digest = push_record::read_current(rt, v)
        .filter(|p| p.content_reference == rec.content_reference)
        .and_then(|p| p.digest().map(str::to_string));
    let page = manifest_render::image_page(rec, digest.as_deref(), now_unix());
    write_text(&manifests_dir(rt).join(&rec.file), &page)
}

/// STACK.md, recomputed from every variant's records. The caller holds the artifacts lock.
fn write_stack(rt: &Runtime) -> Result<(), TaskError> {
    let rows: Vec<StackRow> = (0..rt.spec.variants.len())
        .map(|v| stack_row(rt, v))
        .collect();
    let short = rt.git.short();
    let page = manifest_render::stack_page(&rows, short.as_deref());
    write_text(&manifests_dir(rt).join("STACK.md"), &page)
}

fn stack_row(rt: &Runtime, v: usize) -> StackRow {
    let variant = rt.variant(v);
    let parent = variant.parent.map(|p| rt.variant(p).key.clone());
    let rec = read_current(rt, v);
    let facts = rt.facts(v).ok();
    // A push of this identity under another commit's tag still names its digest.
    let pushed = push_record::read_any(rt, v).filter(|p| {
        facts
            .as_ref()
            .is_some_and(|f| p.content_reference == f.content.to_string())
    });
    let digest = pushed.as_ref().and_then(|p| p.digest().map(str::to_string));
    if let Some(rec) = rec {
        return StackRow {
            key: variant.key.clone(),
            page: Some(rec.file.clone()),
            reference: rec.reference.clone(),
            parent,
            size: Some(rec.size),
            digest,
            last_built: manifest_format::date(rec.built_at),
        };
    }
    let reference = match &facts {
        Some(f) => f.content.to_string(),
        None => rt.human(v).name(),
    };
    let published = rt.is_published(v).unwrap_or(false);
    StackRow {
        key: variant.key.clone(),
        page: None,
        reference,
        parent,
        size: None,
        digest,
        last_built: if published {
            "published earlier".into()
        } else {
            "not built".into()
        },
    }
}

fn write_json<T: Serialize>(path: &std::path::Path, value: &T) -> Result<(), TaskError> {
    let text = serde_json::to_string_pretty(value).expect("json") + "\n";
    write_text(path, &text)
}

fn write_text(path: &std::path::Path, text: &str) -> Result<(), TaskError> {
    crate::stack::artifacts::write_file(path, text.as_bytes())
}
