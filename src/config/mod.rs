//! Reading tasks.toml: find the file, parse it (`schema`), warn about unknown keys, and turn it
//! into the validated model (`resolve`).
pub mod model;
pub mod resolve;
pub mod schema;
pub mod unknown_keys;

use crate::error::{Error, Location, Result};
use std::path::{Path, PathBuf};

pub use model::*;

/// Finds tasks.toml: an explicit `-f PATH`, else `./tasks.toml` searched upward like git.
pub fn find_file(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf> {
    if let Some(path) = explicit {
        let path = cwd.join(path);
        if !path.is_file() {
            return Err(Error::Usage(format!("{}: no such file", path.display())));
        }
        return Ok(path);
    }
    let mut dir = Some(cwd);
    while let Some(d) = dir {
        let candidate = d.join("tasks.toml");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(Error::NoTasksFile {
        searched_from: cwd.to_path_buf(),
    })
}

/// Reads and validates a tasks.toml; warnings (unknown keys) are returned, not printed.
pub fn load(file: &Path) -> Result<Project> {
    let source = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let raw: schema::RawFile = toml::from_str(&source).map_err(|e| {
        let at = e
            .span()
            .map(|span| Location::from_offset(file, &source, span.start));
        Error::config(at, format!("invalid tasks.toml: {}", e.message()))
    })?;
    let warnings = unknown_keys::find(file, &source);
    let root = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let root = std::fs::canonicalize(&root).map_err(|e| Error::io(&root, e))?;
    resolve::resolve(raw, root, file.to_path_buf(), source, warnings)
}
