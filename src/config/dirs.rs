//! The directories dorun writes into and deletes from (`state-dir`, `artifacts-dir`, `logs-dir`,
//! `manifests-dir`): each must be a sub-directory of the project, symlinks resolved, that is not
//! the project root and does not overlap the images directory. `state-dir = "."` or a directory
//! outside the project would let housekeeping touch files that are not dorun's.
use super::resolve::{check_inside, Locator};
use crate::error::{Error, Location, Result};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One directory setting: its key, its value as written (None: the default) and the default.
pub(crate) struct DirSetting<'a> {
    pub key: &'static str,
    pub value: Option<&'a Spanned<String>>,
    pub default: &'static str,
}

/// Where the images live, when tasks.toml has a `[stack]`: the images directory
/// (project-relative) and the declared image names.
pub(crate) struct Images<'a> {
    pub dir: &'a str,
    pub names: Vec<&'a str>,
}

/// Checks a directory setting and returns it relative to the project root, as written.
pub(crate) fn check(
    setting: &DirSetting,
    root: &Path,
    images: Option<&Images>,
    loc: &Locator,
) -> Result<PathBuf> {
    let (text, at) = match setting.value {
        Some(v) => {
            check_inside(v, loc)?;
            (v.get_ref().as_str(), loc.at(v))
        }
        // A default can still be a symlink to elsewhere; point at the file, name the key.
        None => (setting.default, Location::from_offset(loc.file, "", 0)),
    };
    let key = setting.key;
    let problem = |why: String| {
        let written = if setting.value.is_some() {
            String::new()
        } else {
            " (the default)".to_string()
        };
        Error::config(
            Some(at.clone()),
            format!(
                "{key} `{text}`{written} {why}; dorun writes and deletes files there, so it must \
                 be a sub-directory of the project used by dorun alone (set [settings] {key}, \
                 e.g. `{}`)",
                setting.default
            ),
        )
    };
    let resolved = resolve_symlinks(&root.join(text))
        .map_err(|e| problem(format!("cannot be resolved ({e})")))?;
    if resolved == root {
        return Err(problem("is the project root itself".into()));
    }
    if !resolved.starts_with(root) {
        return Err(problem(format!(
            "resolves to {}, outside the project root {}",
            resolved.display(),
            root.display()
        )));
    }
    if let Some(images) = images {
        let dir =
            resolve_symlinks(&root.join(images.dir)).unwrap_or_else(|_| root.join(images.dir));
        let shown = dir.strip_prefix(root).unwrap_or(&dir).display().to_string();
        // dorun's own files next to the image directories could be taken for one (a `build/`
        // of artifacts for an image `build`), and files inside one change its identity.
        if dir.starts_with(&resolved) {
            return Err(problem(format!("holds the images directory `{shown}`")));
        }
        let inside_image = resolved
            .strip_prefix(&dir)
            .ok()
            .and_then(|rest| rest.components().next())
            .is_some_and(|first| images.names.iter().any(|n| first.as_os_str() == *n));
        if inside_image {
            return Err(problem(format!(
                "is inside an image's directory under `{shown}` (files written there would \
                 change the image's identity)"
            )));
        }
    }
    Ok(PathBuf::from(text))
}

/// `path` with every symlink resolved, also when its last components do not exist yet: the
/// longest existing ancestor is resolved and the rest appended (it has no `..`).
fn resolve_symlinks(path: &Path) -> std::io::Result<PathBuf> {
    let mut missing = Vec::new();
    let mut existing = path;
    loop {
        match std::fs::canonicalize(existing) {
            Ok(real) => {
                return Ok(missing.iter().rev().fold(real, |p, c| p.join(c)));
            }
            // A dangling symlink: creating the directory would follow it to wherever it points.
            Err(e) if existing.symlink_metadata().is_ok() => return Err(e),
            Err(e) => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(e);
                };
                missing.push(name.to_os_string());
                existing = parent;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tails_are_appended_to_the_resolved_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        assert_eq!(
            resolve_symlinks(&root.join("link/a/b")).unwrap(),
            root.join("real/a/b")
        );
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).unwrap();
        assert!(resolve_symlinks(&root.join("dangling/x")).is_err());
    }
}
