//! Reading tasks.toml: find the file, parse it (`schema`), warn about unknown keys, and turn it
//! into the validated model (`resolve`).
pub(crate) mod budgets;
pub(crate) mod builder;
pub(crate) mod choice;
pub(crate) mod ci;
pub(crate) mod dirs;
pub(crate) mod hand_off;
pub(crate) mod keep_images;
pub(crate) mod limits;
pub(crate) mod measure;
pub(crate) mod model;
pub(crate) mod published_memory;
pub(crate) mod reference;
pub(crate) mod resolve;
pub(crate) mod schema;
pub(crate) mod secrets;
pub(crate) mod services;
pub(crate) mod stack;
pub(crate) mod stack_model;
pub(crate) mod unknown_keys;

use crate::error::{Error, Location, Result};
use std::path::{Path, PathBuf};

pub(crate) use model::*;

/// Finds tasks.toml: an explicit `-f PATH`, else `./tasks.toml` searched upward like git.
pub(crate) fn find_file(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf> {
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
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let source = utf8(file, bytes)?;
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
    resolve::resolve(raw, root, file, &source, warnings)
}

/// The text of a TOML file, or a configuration error at the first byte that is not UTF-8 (TOML
/// files are UTF-8; a Latin-1 editor or a stray binary byte is the usual cause).
pub(crate) fn utf8(file: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let text = std::str::from_utf8(&bytes[..valid]).expect("valid up to here");
        Error::config(
            Some(Location::from_offset(file, text, valid)),
            format!(
                "{} is not UTF-8: byte 0x{:02x} at offset {valid} is not valid UTF-8 (save the \
                 file as UTF-8)",
                file.file_name().unwrap_or_default().to_string_lossy(),
                bytes[valid]
            ),
        )
    })
}
