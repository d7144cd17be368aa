//! `.dockerignore` with the docker CLI's semantics: the file is read like moby's
//! `ignorefile.ReadAll` and matched like `patternmatcher.PatternMatcher` (a port, checked against
//! the docker CLI by `tests/dockerignore_vs_cli.rs`).
//!
//! Why not `ignore::gitignore` or `globset`: `.dockerignore` only looks like `.gitignore`. Docker
//! anchors every pattern at the context root, lets a later `!` pattern re-include a path inside
//! an excluded directory, reads `**.md` as "ends with `.md`", `[!a]` as "`!` or `a`" and `?` as one
//! character (not byte). Any other matcher silently sends (or drops) different files than
//! `docker build`, and the image identity would hash a different file set than the engine sees.
//!
//! Paths and patterns are bytes: file names need not be UTF-8.

use crate::go_syntax::{check_match_syntax, clean, trim_space};
use crate::ignore_pattern::Pattern;

/// The parsed `.dockerignore` of one build context.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    /// Some pattern is a `!` exception.
    exclusions: bool,
}

/// Which patterns matched a directory, handed down to its entries while walking (moby's
/// `MatchInfo`): a pattern matching a directory matches everything below it.
#[derive(Debug, Clone, Default)]
pub struct ParentMatches(Vec<bool>);

impl DockerIgnore {
    /// Parses the bytes of a `.dockerignore`. Errors name the offending pattern; a lone `!` is
    /// an error, as in Docker.
    pub fn parse(text: &[u8]) -> Result<DockerIgnore, String> {
        let mut ignore = DockerIgnore::default();
        for line in read_all(text) {
            ignore.push(&line)?;
        }
        Ok(ignore)
    }

    /// moby's `patternmatcher.New`, for one line of `ReadAll`'s output.
    fn push(&mut self, line: &[u8]) -> Result<(), String> {
        let line = trim_space(line);
        if line.is_empty() {
            return Ok(());
        }
        let cleaned = clean(line);
        let (exclusion, text) = match cleaned.strip_prefix(b"!") {
            Some(b"") => return Err("illegal exclusion pattern: \"!\"".into()),
            Some(rest) => (true, rest.to_vec()),
            None => (false, cleaned),
        };
        let shown = String::from_utf8_lossy(line).into_owned();
        check_match_syntax(&text).map_err(|e| format!("{e} `{shown}`"))?;
        let pattern = Pattern::new(text, exclusion).map_err(|e| format!("{e} in `{shown}`"))?;
        self.exclusions |= exclusion;
        self.patterns.push(pattern);
        Ok(())
    }

    /// Appends the exception `!rel`, as the docker CLI does for the Dockerfile and the
    /// `.dockerignore` when the patterns exclude them: they are always sent.
    pub fn keep(&mut self, rel: &[u8]) {
        let pattern = Pattern::new(clean(rel), true).expect("a literal path compiles");
        self.exclusions = true;
        self.patterns.push(pattern);
    }

    /// Whether `rel` (relative to the context root, `/`-separated) is left out, judged on its own
    /// (moby's `MatchesOrParentMatches`): each pattern is tried on the path and on each of its
    /// parent directories; the last pattern that matches decides.
    pub fn is_excluded(&self, rel: &[u8]) -> bool {
        let rel = clean(rel);
        if rel == b"." {
            return false;
        }
        let parents = parents(&rel);
        let mut excluded = false;
        for p in &self.patterns {
            // A pattern can only flip the current verdict; skip the ones that cannot.
            if p.exclusion != excluded {
                continue;
            }
            if p.matches(&rel) || parents.iter().any(|d| p.matches(d)) {
                excluded = !p.exclusion;
            }
        }
        excluded
    }

    /// The verdict for `rel` during a walk, given what matched its parent directory (moby's
    /// `MatchesUsingParentResults`, which the docker CLI's context walk uses): a pattern that
    /// matched the parent counts as matching `rel`, even one skipped for the parent.
    pub fn is_excluded_below(&self, rel: &[u8], parent: &ParentMatches) -> (bool, ParentMatches) {
        let mut excluded = false;
        let mut matched = vec![false; self.patterns.len()];
        for (i, p) in self.patterns.iter().enumerate() {
            let mut hit = parent.0.get(i).copied().unwrap_or(false);
            if !hit {
                if p.exclusion != excluded {
                    continue;
                }
                hit = p.matches(rel);
                // Without the parent's results (the walk's top level), try every ancestor.
                if !hit && parent.0.is_empty() {
                    hit = parents(rel).iter().any(|d| p.matches(d));
                }
            }
            matched[i] = hit;
            if hit {
                excluded = !p.exclusion;
            }
        }
        (excluded, ParentMatches(matched))
    }

    /// Whether an excluded directory must still be walked because an exception could bring
    /// back something below it. Like the docker CLI, only exceptions whose text starts with the
    /// directory's path count: after `build` and `!build/**/*.so`, `build` is walked but
    /// `build/sub` is not, so `build/sub/x.so` stays out.
    pub fn may_reinclude_below(&self, dir_rel: &[u8]) -> bool {
        let mut dir_slash = dir_rel.to_vec();
        dir_slash.push(b'/');
        self.exclusions
            && self.patterns.iter().any(|p| {
                let mut text = p.text().to_vec();
                text.push(b'/');
                p.exclusion && text.starts_with(&dir_slash)
            })
    }
}

/// `a/b/c` → `a`, `a/b` (the proper ancestors, shortest first).
fn parents(rel: &[u8]) -> Vec<&[u8]> {
    rel.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(|(i, _)| &rel[..i])
        .collect()
}

/// moby's `ignorefile.ReadAll`: lines (a `\r` before the `\n` dropped), a UTF-8 byte order mark
/// removed from the first line only, `#` comments in the first column, then each pattern
/// trimmed, cleaned like `filepath.Clean` and stripped of a leading `/` (keeping its `!`).
fn read_all(text: &[u8]) -> Vec<Vec<u8>> {
    let mut patterns = Vec::new();
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return patterns;
    }
    for (n, line) in body.split(|&b| b == b'\n').enumerate() {
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        if n == 0 {
            line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        }
        if line.starts_with(b"#") {
            continue;
        }
        let mut pattern = trim_space(line);
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern[0] == b'!';
        if invert {
            pattern = trim_space(&pattern[1..]);
        }
        let mut cleaned = Vec::new();
        if !pattern.is_empty() {
            cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned[0] == b'/' {
                cleaned.remove(0);
            }
        }
        if invert {
            cleaned.insert(0, b'!');
        }
        patterns.push(cleaned);
    }
    patterns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn patterns_are_anchored_at_the_root() {
        let d = ig("secret.txt\n");
        assert!(d.is_excluded(b"secret.txt"));
        assert!(!d.is_excluded(b"sub/secret.txt"));
    }

    #[test]
    fn double_star_matches_any_depth() {
        let d = ig("**/*.log\n");
        assert!(d.is_excluded(b"a.log"));
        assert!(d.is_excluded(b"x/y/a.log"));
        assert!(!d.is_excluded(b"a.txt"));
    }

    #[test]
    fn star_does_not_cross_directories() {
        let d = ig("*.md\n");
        assert!(d.is_excluded(b"README.md"));
        assert!(!d.is_excluded(b"docs/a.md"));
    }

    #[test]
    fn directory_pattern_excludes_its_contents() {
        let d = ig("build/\n");
        assert!(d.is_excluded(b"build"));
        assert!(d.is_excluded(b"build/out/x.o"));
        assert!(!d.is_excluded(b"builder"));
    }

    #[test]
    fn exception_reincludes_inside_excluded_directory() {
        let d = ig("docs\n!docs/keep.md\n");
        assert!(d.is_excluded(b"docs/other.md"));
        assert!(!d.is_excluded(b"docs/keep.md"));
        assert!(d.may_reinclude_below(b"docs"));
        assert!(!d.may_reinclude_below(b"src"));
    }

    #[test]
    fn exceptions_only_reopen_directories_they_name() {
        // The docker CLI walks `build` (the exception starts with `build/`) but not
        // `build/sub`, so nothing below `build/sub` comes back.
        let d = ig("build\n!build/**/*.so\n");
        assert!(d.may_reinclude_below(b"build"));
        assert!(!d.may_reinclude_below(b"build/sub"));
    }

    #[test]
    fn last_match_wins() {
        let d = ig("*.txt\n!important.txt\nimportant.txt\n");
        assert!(d.is_excluded(b"important.txt"));
    }

    #[test]
    fn comments_blank_lines_and_cleaning() {
        let d = ig("# comment\n\n  /tmp/../cache/  \n./x\n");
        assert!(d.is_excluded(b"cache/a"));
        assert!(d.is_excluded(b"x"));
        assert!(!d.is_excluded(b"# comment"));
        // Only the first column starts a comment.
        assert!(ig(" #x\n").is_excluded(b"#x"));
    }

    #[test]
    fn dot_dot_stays_outside_the_context() {
        // Go's Clean keeps a leading `..`: the pattern names nothing in the context.
        let d = ig("../x\n");
        assert!(!d.is_excluded(b"x"));
        // Under the root `..` is dropped, so `/../x` is `x`.
        assert!(ig("/../x\n").is_excluded(b"x"));
    }

    #[test]
    fn lone_bang_is_an_error() {
        let err = DockerIgnore::parse(b"*.json\n!\n").unwrap_err();
        assert_eq!(err, "illegal exclusion pattern: \"!\"");
        assert!(DockerIgnore::parse(b"! /\n").is_err());
    }

    #[test]
    fn byte_order_mark_only_on_the_first_line() {
        let d = DockerIgnore::parse(b"\xef\xbb\xbfa.md\n").unwrap();
        assert!(d.is_excluded(b"a.md"));
        let d = DockerIgnore::parse(b"x\n\xef\xbb\xbfa.md\n").unwrap();
        assert!(!d.is_excluded(b"a.md"));
    }

    #[test]
    fn crlf_lines() {
        let d = DockerIgnore::parse(b"a.txt\r\nb.txt\r\n").unwrap();
        assert!(d.is_excluded(b"a.txt") && d.is_excluded(b"b.txt"));
    }

    #[test]
    fn syntax_errors_name_the_pattern() {
        let err = DockerIgnore::parse(b"ok\n[a\n").unwrap_err();
        assert!(err.contains("`[a`"), "{err}");
    }

    #[test]
    fn non_utf8_names_match() {
        let d = DockerIgnore::parse(b"b?.bin\n").unwrap();
        assert!(d.is_excluded(b"b\xff.bin"));
    }

    #[test]
    fn parent_results_carry_down() {
        let d = ig("build\n!build/keep\n");
        let (dir, info) = d.is_excluded_below(b"build", &ParentMatches::default());
        assert!(dir);
        assert!(d.is_excluded_below(b"build/x", &info).0);
        assert!(!d.is_excluded_below(b"build/keep", &info).0);
    }
}
