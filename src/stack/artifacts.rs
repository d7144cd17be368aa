//! The IMAGES_* list files and GIT_* files (SPEC §6): one entry per line, in build order,
//! written atomically, and always recomputed from the whole stack rather than appended, so that
//! a failed run resumed later leaves the same files as one uninterrupted run.
use super::pipeline::ChangedSet;
use super::runtime::Runtime;
use crate::exec::work::TaskError;

/// Writes an artifact atomically; the error names the file.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), TaskError> {
    crate::state::write_atomic(path, bytes)
        .map_err(|e| TaskError::new(format!("cannot write {}: {e}", path.display())))
}

/// Writes a list file: one entry per line, newline-terminated (empty list = empty file).
pub fn write_list(rt: &Runtime, name: &str, entries: &[String]) -> Result<(), TaskError> {
    let mut text = String::new();
    for e in entries {
        text.push_str(e);
        text.push('\n');
    }
    let path = rt.artifact(name);
    crate::stack::artifacts::write_file(&path, text.as_bytes())
}

pub fn read_list(rt: &Runtime, name: &str) -> Vec<String> {
    std::fs::read_to_string(rt.artifact(name))
        .map(|s| {
            s.lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Variants whose identity was not published before this pipeline, in build order.
pub fn changed_variants(rt: &Runtime) -> Result<Vec<usize>, TaskError> {
    let mut out = Vec::new();
    for v in 0..rt.spec.variants.len() {
        if !rt.is_published(v)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Remembers which content references are unpublished now (with those the pipeline already
/// remembered for the current identities), so a resumed run still counts them as changed.
pub fn remember_changed(rt: &Runtime) -> Result<(), TaskError> {
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

/// Changed variants the local engine now holds under both their content tag and this commit's
/// human tag (built by this or an earlier run), in build order.
pub fn built_variants(rt: &Runtime) -> Result<Vec<usize>, TaskError> {
    let mut built = Vec::new();
    for v in changed_variants(rt)? {
        if rt.is_built(v)? {
            built.push(v);
        }
    }
    Ok(built)
}

/// IMAGES_BUILT: the human references of changed images that the local engine now holds.
pub fn refresh_built(rt: &Runtime) -> Result<(), TaskError> {
    let _guard = rt.artifacts_lock.lock().unwrap_or_else(|p| p.into_inner());
    let built: Vec<String> = built_variants(rt)?
        .into_iter()
        .map(|v| rt.human(v).to_string())
        .collect();
    write_list(rt, "IMAGES_BUILT", &built)
}

/// GIT_HASH, GIT_HASH_SHORT, GIT_MESSAGE when the project is a git checkout.
pub fn write_git(rt: &Runtime) -> Result<(), TaskError> {
    if let (Some(hash), Some(short)) = (&rt.git.hash, rt.git.short()) {
        write_list(rt, "GIT_HASH", std::slice::from_ref(hash))?;
        write_list(rt, "GIT_HASH_SHORT", &[short])?;
        let message = rt.git.message.clone().unwrap_or_default();
        let path = rt.artifact("GIT_MESSAGE");
        crate::stack::artifacts::write_file(&path, format!("{}\n", message.trim_end()).as_bytes())?;
    }
    Ok(())
}
