//! Expands `inputs`/`outputs` globs (with `**`) into sorted project-relative files, and hashes
//! them through the stat cache. A pattern without glob characters names a file or a directory
//! (a directory stands for every file beneath it).
use super::record::Hash;
use super::stat_cache::{Stat, StatCache};
use globset::{GlobBuilder, GlobMatcher};
use rayon::prelude::*;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, Default)]
pub struct Expansion {
    /// Project-relative paths with `/` separators, sorted, without duplicates, with the stat
    /// fields the cache needs (kept small: sorting moves every element several times).
    pub files: Vec<(String, Stat)>,
    /// Literal patterns (no glob characters) that name nothing.
    pub missing: Vec<String>,
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

fn matcher(pattern: &str) -> GlobMatcher {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .expect("globs are validated when tasks.toml is loaded")
        .compile_matcher()
}

pub fn expand(root: &Path, patterns: &[String]) -> Expansion {
    let per_pattern: Vec<Expansion> = patterns.par_iter().map(|p| expand_one(root, p)).collect();
    let mut out = Expansion::default();
    for e in per_pattern {
        out.files.extend(e.files);
        out.missing.extend(e.missing);
    }
    out.files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out.files.dedup_by(|a, b| a.0 == b.0);
    out
}

fn expand_one(root: &Path, pattern: &str) -> Expansion {
    let pattern = pattern.trim_start_matches("./");
    let mut out = Expansion::default();
    if !is_glob(pattern) {
        match std::fs::metadata(root.join(pattern)) {
            Ok(m) if m.is_dir() => walk(root, pattern, None, &mut out),
            Ok(m) => out
                .files
                .push((pattern.trim_end_matches('/').to_string(), Stat::of(&m))),
            Err(_) => out.missing.push(pattern.to_string()),
        }
        return out;
    }
    // Walk only below the literal prefix of the pattern.
    let base: Vec<&str> = pattern.split('/').take_while(|c| !is_glob(c)).collect();
    let base = base.join("/");
    // `dir/**` matches everything below `dir`: no need to test each path against the glob.
    let everything_below =
        pattern.strip_suffix("/**") == Some(base.as_str()) || (base.is_empty() && pattern == "**");
    let glob = (!everything_below).then(|| matcher(pattern));
    walk(root, &base, glob, &mut out);
    out
}

fn walk(root: &Path, base: &str, glob: Option<GlobMatcher>, out: &mut Expansion) {
    let start = if base.is_empty() {
        root.to_path_buf()
    } else {
        root.join(base)
    };
    walk_dir(root.as_os_str().as_bytes(), &start, glob.as_ref(), out);
}

/// A plain recursive walk with std's `read_dir`: its `DirEntry::metadata` stats relative to the
/// open directory (`fstatat`), where walkdir resolves each full path again in the kernel; on a
/// no-op run over 100,000 inputs this walk is most of the work.
fn walk_dir(root: &[u8], dir: &Path, glob: Option<&GlobMatcher>, out: &mut Expansion) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let path = entry.path();
        if ft.is_dir() {
            walk_dir(root, &path, glob, out);
            continue;
        }
        // Byte-slicing the root off is much cheaper than Path::strip_prefix's component walk.
        let Some(rel) = relative(root, &path) else {
            continue;
        };
        if let Some(g) = glob {
            if !g.is_match(rel) {
                continue;
            }
        }
        // Follow a symlink to hash what it points at; a dangling link is skipped.
        let meta = if ft.is_symlink() {
            std::fs::metadata(&path)
        } else {
            entry.metadata()
        };
        if let Ok(meta) = meta {
            if meta.is_file() {
                out.files.push((rel.to_string(), Stat::of(&meta)));
            }
        }
    }
}

/// `path` relative to the root, as UTF-8 with `/` separators (None for non-UTF-8 names).
fn relative<'a>(root: &[u8], path: &'a Path) -> Option<&'a str> {
    let bytes = path.as_os_str().as_bytes();
    let rest = bytes.strip_prefix(root)?;
    let rest = rest.strip_prefix(b"/").unwrap_or(rest);
    std::str::from_utf8(rest).ok()
}

/// Hashes every expanded file (in parallel, through the stat cache).
pub fn hash_all(
    root: &Path,
    files: &[(String, Stat)],
    cache: &StatCache,
) -> std::io::Result<Vec<(String, Hash)>> {
    let looked_up: Vec<_> = files
        .par_iter()
        .map(|(rel, stat)| cache.lookup(root, rel, *stat).map(|r| (rel.clone(), r)))
        .collect::<std::io::Result<_>>()?;
    let mut fresh = Vec::new();
    let hashes = looked_up
        .into_iter()
        .map(|(rel, (hash, new))| {
            fresh.extend(new);
            (rel, hash)
        })
        .collect();
    cache.insert(fresh);
    Ok(hashes)
}

/// Literal patterns (no glob characters) that name nothing: a missing input.
pub fn missing_literals(root: &Path, patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|p| p.trim_start_matches("./"))
        .filter(|p| !is_glob(p) && std::fs::metadata(root.join(p)).is_err())
        .map(str::to_string)
        .collect()
}
