//! What a manifest subtask found out about one image (`artifacts/manifest/<name>[@plan].json`),
//! and where its page goes. The ledger renders `manifests/<name>-<tag>.md` and
//! `manifests/STACK.md` from these records (never patched): after the manifest subtask, and
//! again after a push adds the digest.
use super::model::ManifestRecord;
use crate::exec::work::TaskError;
use crate::stack::runtime::Runtime;
use serde::Serialize;
use std::path::PathBuf;

/// `<name>-<human tag>.md`: the plan shows in the tag's prefix.
pub(crate) fn file_name(rt: &Runtime, v: usize) -> String {
    format!("{}-{}.md", rt.variant(v).image, rt.human(v).tag())
}

pub(crate) fn manifests_dir(rt: &Runtime) -> PathBuf {
    rt.root.join(&rt.manifests_dir)
}

fn record_path(rt: &Runtime, v: usize) -> PathBuf {
    rt.artifact(&format!("manifest/{}.json", rt.variant(v).key))
}

pub(crate) fn read(rt: &Runtime, v: usize) -> Option<ManifestRecord> {
    let text = std::fs::read_to_string(record_path(rt, v)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Stores a new record, has the ledger render its page and STACK.md, then removes the page of
/// the variant's previous record (a new commit or identity renames it).
pub(crate) fn save(rt: &Runtime, v: usize, rec: &ManifestRecord) -> Result<(), TaskError> {
    let old = read(rt, v);
    write_json(&record_path(rt, v), rec)?;
    rt.ledger.described(rt, v, rec.clone())?;
    if let Some(old) = old {
        let stale = old.file != rec.file && !old.file.contains('/') && !old.file.is_empty();
        if stale {
            let _ = std::fs::remove_file(manifests_dir(rt).join(&old.file));
        }
    }
    Ok(())
}

fn write_json<T: Serialize>(path: &std::path::Path, value: &T) -> Result<(), TaskError> {
    let text = serde_json::to_string_pretty(value).expect("json") + "\n";
    write_text(path, &text)
}

fn write_text(path: &std::path::Path, text: &str) -> Result<(), TaskError> {
    crate::stack::artifacts::write_file(path, text.as_bytes())
}
