//! `.dockerignore` matching with Docker's own semantics (moby `patternmatcher`).
//!
//! Why not `ignore::gitignore`: `.dockerignore` only looks like `.gitignore`. Docker anchors
//! every pattern at the context root (`foo` excludes `./foo`, not `a/foo`), lets a later `!`
//! pattern re-include a file inside an excluded directory, and has no "directory only" trailing
//! slash. gitignore semantics would silently send (or drop) different files than `docker build`,
//! and the image identity would hash a different file set than the engine sees. So we keep
//! Docker's algorithm — patterns cleaned like `filepath.Clean`, evaluated in order, last match
//! wins, a pattern matching a parent directory matches the file — and use `globset` (the glob
//! engine behind `ignore`) only to match a single pattern against a single path: with
//! `literal_separator` it gives exactly Go's `*`, `?`, `[...]` and moby's `**`. Docker has no
//! `{a,b}` alternation, so braces are escaped before compiling.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

/// One cleaned pattern.
#[derive(Debug, Clone)]
struct Pattern {
    matcher: GlobMatcher,
    /// A `!` pattern: a match re-includes the path.
    exception: bool,
}

/// The parsed `.dockerignore` of one build context.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// Parses `.dockerignore` text. Errors name the offending pattern.
    pub fn parse(text: &str) -> Result<DockerIgnore, String> {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.strip_prefix('\u{feff}').unwrap_or(line);
            // Docker treats `#` as a comment only in the first column, before trimming.
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (exception, raw) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned = clean(raw);
            if cleaned.is_empty() {
                continue;
            }
            let glob = GlobBuilder::new(&escape_braces(&cleaned))
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("bad .dockerignore pattern `{line}`: {e}"))?;
            patterns.push(Pattern {
                matcher: glob.compile_matcher(),
                exception,
            });
        }
        Ok(DockerIgnore { patterns })
    }

    /// True when some `!` pattern exists, so an excluded directory may still hold included
    /// files and must be walked.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `rel` (relative to the context root, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, rel: &str) -> bool {
        let rel = clean(rel);
        let parents: Vec<&str> = ancestors(&rel).collect();
        let mut excluded = false;
        for p in &self.patterns {
            // A pattern can only flip the current state; skip the ones that cannot.
            if p.exception != excluded {
                continue;
            }
            let hit = p.matcher.is_match(Path::new(&rel))
                || parents.iter().any(|d| p.matcher.is_match(Path::new(d)));
            if hit {
                excluded = !p.exception;
            }
        }
        excluded
    }
}

/// `a/b/c` → `a`, `a/b` (the proper ancestors, shortest first).
fn ancestors(rel: &str) -> impl Iterator<Item = &str> {
    rel.match_indices('/').map(move |(i, _)| &rel[..i])
}

/// Go's `filepath.Clean` followed by Docker's removal of a leading `/`.
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.join("/")
}

/// Docker's matcher has no `{a,b}`; make globset read braces literally.
fn escape_braces(p: &str) -> String {
    p.replace('{', "[{]").replace('}', "[}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    #[test]
    fn patterns_are_anchored_at_the_root() {
        let d = ig("secret.txt\n");
        assert!(d.is_excluded("secret.txt"));
        assert!(!d.is_excluded("sub/secret.txt"));
    }

    #[test]
    fn double_star_matches_any_depth() {
        let d = ig("**/*.log\n");
        assert!(d.is_excluded("a.log"));
        assert!(d.is_excluded("x/y/a.log"));
        assert!(!d.is_excluded("a.txt"));
    }

    #[test]
    fn star_does_not_cross_directories() {
        let d = ig("*.md\n");
        assert!(d.is_excluded("README.md"));
        assert!(!d.is_excluded("docs/a.md"));
    }

    #[test]
    fn directory_pattern_excludes_its_contents() {
        let d = ig("build/\n");
        assert!(d.is_excluded("build"));
        assert!(d.is_excluded("build/out/x.o"));
        assert!(!d.is_excluded("builder"));
    }

    #[test]
    fn exception_reincludes_inside_excluded_directory() {
        let d = ig("docs\n!docs/keep.md\n");
        assert!(d.is_excluded("docs/other.md"));
        assert!(!d.is_excluded("docs/keep.md"));
        assert!(d.has_exceptions());
    }

    #[test]
    fn last_match_wins() {
        let d = ig("*.txt\n!important.txt\nimportant.txt\n");
        assert!(d.is_excluded("important.txt"));
    }

    #[test]
    fn comments_blank_lines_and_cleaning() {
        let d = ig("# comment\n\n  /tmp/../cache/  \n./x\n");
        assert!(d.is_excluded("cache/a"));
        assert!(d.is_excluded("x"));
        assert!(!d.is_excluded("# comment"));
    }

    #[test]
    fn braces_are_literal() {
        let d = ig("{a,b}\n");
        assert!(!d.is_excluded("a"));
        assert!(d.is_excluded("{a,b}"));
    }

    #[test]
    fn question_mark_and_classes() {
        let d = ig("file?.txt\n[ab].bin\n");
        assert!(d.is_excluded("file1.txt"));
        assert!(!d.is_excluded("file10.txt"));
        assert!(d.is_excluded("a.bin"));
        assert!(!d.is_excluded("c.bin"));
    }
}
