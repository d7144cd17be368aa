//! Expands `inputs`/`outputs` globs (with `**`) into sorted project-relative files, and hashes
//! them through the stat cache. A pattern without glob characters names a file or a directory
//! (a directory stands for every file beneath it). Names that are not UTF-8 are found too, kept
//! in [`rel_path`](super::rel_path)'s lossless form, and globs match their real bytes.
use super::record::Hash;
use super::rel_path;
use super::stat_cache::{FreshEntry, Stat, StatCache};
use globset::{GlobBuilder, GlobMatcher};
use rayon::prelude::*;
use std::path::Path;

#[derive(Debug, Default)]
pub(crate) struct Expansion {
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

pub(crate) fn expand(root: &Path, patterns: &[String]) -> Expansion {
    let per_pattern: Vec<Expansion> = patterns.iter().map(|p| expand_one(root, p)).collect();
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
            // `src/` names the same files as `src`, not `src//a.txt`.
            Ok(m) if m.is_dir() => walk(root, pattern.trim_end_matches('/'), None, &mut out),
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
    walk(root, &base, glob.as_ref(), &mut out);
    out
}

fn walk(root: &Path, base: &str, glob: Option<&GlobMatcher>, out: &mut Expansion) {
    let start = if base.is_empty() {
        root.to_path_buf()
    } else {
        root.join(base)
    };
    walk_dir(&start, base, glob, out);
}

/// A plain recursive walk with std's `read_dir`: its `DirEntry::metadata` stats relative to the
/// open directory (`fstatat`), where walkdir resolves each full path again in the kernel; on a
/// no-op run over 100,000 inputs this walk is most of the work. Entries are visited in the order
/// of their project-relative path strings (a directory sorts as `name/`), so the result comes
/// out sorted and the final sort only confirms it.
fn walk_dir(dir: &Path, dir_rel: &str, glob: Option<&GlobMatcher>, out: &mut Expansion) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<(String, std::fs::DirEntry, std::fs::FileType)> = entries
        .flatten()
        .filter_map(|entry| {
            let ft = entry.file_type().ok()?;
            let name = entry.file_name();
            let name = rel_path::encode(&name);
            let rel = if dir_rel.is_empty() {
                name.into_owned()
            } else {
                format!("{dir_rel}/{name}")
            };
            Some((rel, entry, ft))
        })
        .collect();
    children
        .sort_unstable_by(|a, b| sort_key(&a.0, a.2.is_dir()).cmp(sort_key(&b.0, b.2.is_dir())));
    for (rel, entry, ft) in children {
        if ft.is_dir() {
            walk_dir(&dir.join(entry.file_name()), &rel, glob, out);
            continue;
        }
        if let Some(g) = glob {
            if !g.is_match(rel_path::decode(&rel)) {
                continue;
            }
        }
        // Follow a symlink to hash what it points at; a dangling link is skipped.
        let meta = if ft.is_symlink() {
            std::fs::metadata(entry.path())
        } else {
            entry.metadata()
        };
        if let Ok(meta) = meta {
            if meta.is_file() {
                out.files.push((rel, Stat::of(&meta)));
            }
        }
    }
}

/// The bytes a directory entry sorts by: its path, plus `/` for a directory, since every path
/// below it starts with that.
fn sort_key(rel: &str, is_dir: bool) -> impl Iterator<Item = u8> + '_ {
    rel.bytes().chain(is_dir.then_some(b'/'))
}

/// Hashes every expanded file through the stat cache.
pub(crate) fn hash_all(
    root: &Path,
    files: &[(String, Stat)],
    cache: &StatCache,
) -> std::io::Result<Vec<(String, Hash)>> {
    // Cache hits first, on this thread: a no-op run stops here, without waking a thread pool
    // whose idle spinning would cost more than the lookups.
    let mut hashes: Vec<(String, Hash)> = Vec::with_capacity(files.len());
    let mut misses = Vec::new();
    for (i, (rel, stat)) in files.iter().enumerate() {
        match cache.cached(rel, *stat) {
            Some(h) => hashes.push((rel.clone(), h)),
            None => {
                hashes.push((rel.clone(), [0; 32]));
                misses.push(i);
            }
        }
    }
    // Files that must be read are hashed in parallel.
    let read: Vec<(usize, Hash, Option<FreshEntry>)> = misses
        .par_iter()
        .map(|&i| {
            let (rel, stat) = &files[i];
            cache
                .lookup(root, rel, *stat)
                .map(|(h, fresh)| (i, h, fresh))
        })
        .collect::<std::io::Result<_>>()?;
    let mut fresh = Vec::new();
    for (i, h, new) in read {
        hashes[i].1 = h;
        fresh.extend(new);
    }
    cache.insert(fresh);
    Ok(hashes)
}

/// Literal patterns (no glob characters) that name nothing: a missing input.
pub(crate) fn missing_literals(root: &Path, patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|p| p.trim_start_matches("./"))
        .filter(|p| !is_glob(p) && std::fs::metadata(root.join(p)).is_err())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    /// A tree of `files` (each with its own size, so the stats tell them apart).
    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (i, rel) in files.iter().enumerate() {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x".repeat(i + 1)).unwrap();
        }
        dir
    }

    fn expanded(root: &Path, patterns: &[&str]) -> (Vec<String>, Vec<String>) {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        let e = expand(root, &patterns);
        (e.files.into_iter().map(|(f, _)| f).collect(), e.missing)
    }

    const FILES: &[&str] = &[
        "a.txt",
        "b.md",
        "src/x.txt",
        "src/deep/y.txt",
        "src/deep/z.rs",
        "src-old/w.txt",
    ];

    #[test]
    fn a_literal_names_a_file_or_every_file_below_a_directory_or_is_missing() {
        let t = tree(FILES);
        assert_eq!(expanded(t.path(), &["a.txt"]).0, ["a.txt"]);
        assert_eq!(
            expanded(t.path(), &["./src/"]).0,
            ["src/deep/y.txt", "src/deep/z.rs", "src/x.txt"]
        );
        assert_eq!(
            expanded(t.path(), &["nope.txt", "a.txt"]),
            (vec!["a.txt".to_string()], vec!["nope.txt".to_string()])
        );
        assert_eq!(
            missing_literals(
                t.path(),
                &["./nope".into(), "a.txt".into(), "*.none".into()]
            ),
            ["nope"]
        );
    }

    #[test]
    fn star_stays_in_its_directory_and_double_star_crosses_them() {
        let t = tree(FILES);
        assert_eq!(expanded(t.path(), &["*.txt"]).0, ["a.txt"]);
        assert_eq!(expanded(t.path(), &["src/*.txt"]).0, ["src/x.txt"]);
        assert_eq!(
            expanded(t.path(), &["src/**/*.txt"]).0,
            ["src/deep/y.txt", "src/x.txt"]
        );
        assert_eq!(
            expanded(t.path(), &["src/**"]).0,
            ["src/deep/y.txt", "src/deep/z.rs", "src/x.txt"]
        );
        assert_eq!(expanded(t.path(), &["**"]).0.len(), FILES.len());
        assert_eq!(expanded(t.path(), &["src*/w.txt"]).0, ["src-old/w.txt"]);
        assert_eq!(
            expanded(t.path(), &["{a,b}.*", "?.md"]).0,
            ["a.txt", "b.md"]
        );
        // A glob matching nothing is no missing input.
        assert_eq!(expanded(t.path(), &["*.none"]), (vec![], vec![]));
    }

    #[test]
    fn results_are_sorted_by_path_without_duplicates() {
        let t = tree(FILES);
        let (files, _) = expanded(t.path(), &["src/x.txt", "**/*.txt", "a.txt"]);
        assert_eq!(
            files,
            ["a.txt", "src-old/w.txt", "src/deep/y.txt", "src/x.txt"]
        );
        // Byte order of the whole path, as a directory's files sort (`src-old` < `src/`).
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted);
    }

    #[test]
    fn symlinks_are_followed_and_dangling_ones_skipped() {
        let t = tree(&["real.txt"]);
        std::os::unix::fs::symlink("real.txt", t.path().join("link.txt")).unwrap();
        std::os::unix::fs::symlink("gone.txt", t.path().join("dangling.txt")).unwrap();
        let e = expand(t.path(), &["*.txt".to_string()]);
        let names: Vec<&str> = e.files.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["link.txt", "real.txt"]);
        assert_eq!(e.files[0].1.size, e.files[1].1.size, "the target's stat");
    }

    #[test]
    fn names_that_are_not_utf8_are_found_and_matched_by_their_bytes() {
        let t = tree(&["plain.bin"]);
        let odd = std::ffi::OsStr::from_bytes(b"b\xff.bin");
        std::fs::write(t.path().join(odd), "1").unwrap();
        let (files, _) = expanded(t.path(), &["*.bin"]);
        assert_eq!(files, ["b\u{0}ff.bin", "plain.bin"]);
        assert_eq!(rel_path::decode(&files[0]).as_os_str(), odd);
    }
}
