//! Writing and reading artifact files: the list format (one entry per line, written
//! atomically), the GIT_* files, and the pipeline's changed set. Which entries the IMAGES_*
//! lists hold is the ledger's business (`ledger`).
use super::pipeline::ChangedSet;
use super::runtime::Runtime;
use crate::exec::work::TaskError;

/// Writes an artifact atomically; the error names the file.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), TaskError> {
    crate::atomic_file::write_atomic(path, bytes)
        .map_err(|e| TaskError::new(format!("cannot write {}: {e}", path.display())))
}

/// Writes a list file: one entry per line, newline-terminated (empty list = empty file).
pub(crate) fn write_list(rt: &Runtime, name: &str, entries: &[String]) -> Result<(), TaskError> {
    let mut text = String::new();
    for e in entries {
        text.push_str(e);
        text.push('\n');
    }
    let path = rt.artifact(name);
    crate::stack::artifacts::write_file(&path, text.as_bytes())
}

pub(crate) fn read_list(rt: &Runtime, name: &str) -> Vec<String> {
    std::fs::read_to_string(rt.artifact(name))
        .map(|s| {
            s.lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Remembers which content references are unpublished now (with those the pipeline already
/// remembered for the current identities), so a resumed run still counts them as changed.
pub(crate) fn remember_changed(rt: &Runtime) -> Result<(), TaskError> {
    let mut unpublished = Vec::new();
    let mut current = Vec::new();
    for v in 0..rt.spec.variants.len() {
        let reference = rt.facts(v)?.content.to_string();
        if !rt.in_registry(v)? {
            unpublished.push(reference.clone());
        }
        current.push(reference);
    }
    let updated = ChangedSet::load(&rt.state_dir).updated(&unpublished, &current);
    updated.save(&rt.state_dir).map_err(|e| {
        TaskError::new(format!(
            "cannot write {}: {e}",
            ChangedSet::path(&rt.state_dir).display()
        ))
    })
}

/// GIT_HASH, GIT_HASH_SHORT, GIT_MESSAGE when the project is a git checkout.
pub(crate) fn write_git(rt: &Runtime) -> Result<(), TaskError> {
    if let (Some(hash), Some(short)) = (&rt.git.hash, rt.git.short()) {
        write_list(rt, "GIT_HASH", std::slice::from_ref(hash))?;
        write_list(rt, "GIT_HASH_SHORT", &[short])?;
        let message = rt.git.message.clone().unwrap_or_default();
        let path = rt.artifact("GIT_MESSAGE");
        crate::stack::artifacts::write_file(&path, format!("{}\n", message.trim_end()).as_bytes())?;
    }
    Ok(())
}
