//! One `.dockerignore` pattern, compiled and matched exactly like moby's
//! `patternmatcher.Pattern`: a pattern without wildcards compares whole paths, a trailing `**` a
//! prefix, a leading `**` a suffix, and anything else becomes the regexp moby would build (`*` is
//! `[^/]*`, `?` is one character but `/`, `**` is `(.*/)?`, `[...]` is passed to the regexp engine
//! as is, so `[!a]` means "`!` or `a`"). Paths are bytes and matched as Go sees them.

use regex::Regex;

use crate::go_syntax::{go_regexp_to_rust, go_runes};

#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    Prefix,
    Suffix,
    Regexp(Regex),
}

/// A cleaned pattern (without its `!`).
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    text: Vec<u8>,
    /// A `!` pattern: a match re-includes the path.
    pub exclusion: bool,
    matcher: Matcher,
}

impl Pattern {
    /// Compiles `text`, already cleaned. moby compiles lazily and fails the build when a pattern
    /// it reaches does not compile; compiling up front fails it in every case instead.
    pub fn new(text: Vec<u8>, exclusion: bool) -> Result<Pattern, String> {
        let matcher = compile(&text)?;
        Ok(Pattern {
            text,
            exclusion,
            matcher,
        })
    }

    /// The cleaned pattern text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Whether `path` (relative, `/`-separated) matches this pattern alone.
    pub fn matches(&self, path: &[u8]) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix => path.starts_with(&self.text[..self.text.len() - 2]),
            Matcher::Suffix => {
                let suffix = &self.text[2..];
                // `**/foo` also matches `foo`.
                path.ends_with(suffix) || (suffix.first() == Some(&b'/') && path == &suffix[1..])
            }
            Matcher::Regexp(re) => re.is_match(&go_runes(path)),
        }
    }
}

/// moby's `Pattern.compile`, statement for statement: which kind of match, and the regexp.
fn compile(text: &[u8]) -> Result<Matcher, String> {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let runes = go_runes(text);
    let mut chars = runes.chars().peekable();
    // Go's text/scanner skips a byte order mark at the start.
    chars.next_if_eq(&'\u{feff}');
    let mut i = 0;
    while let Some(ch) = chars.next() {
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`.
                chars.next_if_eq(&'/');
                if chars.peek().is_none() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regexp;
                    }
                } else {
                    // Any number of directories, even none.
                    re.push_str("(.*/)?");
                    kind = Kind::Regexp;
                }
                if i == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regexp;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regexp;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match chars.next() {
                Some(next) => {
                    re.push('\\');
                    re.push(next);
                    kind = Kind::Regexp;
                }
                None => re.push('\\'),
            },
            '[' | ']' => {
                re.push(ch);
                kind = Kind::Regexp;
            }
            _ => re.push(ch),
        }
        i += 1;
    }
    Ok(match kind {
        Kind::Exact => Matcher::Exact,
        Kind::Prefix => Matcher::Prefix,
        Kind::Suffix => Matcher::Suffix,
        Kind::Regexp => {
            re.push('$');
            let re = Regex::new(&go_regexp_to_rust(&re)).map_err(|e| {
                let first = e.to_string();
                let reason = first.lines().last().unwrap_or("invalid pattern").trim();
                format!("syntax error in pattern: {reason}")
            })?;
            Matcher::Regexp(re)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &[u8]) -> bool {
        Pattern::new(pattern.as_bytes().to_vec(), false)
            .unwrap()
            .matches(path)
    }

    #[test]
    fn kinds_follow_moby() {
        // Exact.
        assert!(m("a/b", b"a/b") && !m("a/b", b"a/b/c"));
        // Trailing `**`: a plain prefix, even without a `/`.
        assert!(m("docs**", b"docs") && m("docs**", b"docsx/y") && !m("docs**", b"doc"));
        // Leading `**` then literals: a plain suffix, at any depth and not only after a `/`.
        assert!(m("**.md", b"a/b.md") && m("**.md", b"x.md") && !m("**.md", b"x.mdx"));
        assert!(m("**/x", b"x") && m("**/x", b"a/b/x") && !m("**/x", b"ax"));
        // Regexps.
        assert!(m("**/*.md", b"a.md") && m("**/*.md", b"a/b/c.md"));
        assert!(m("a/**/b", b"a/b") && m("a/**/b", b"a/x/y/b"));
        assert!(m("*.md", b"a.md") && !m("*.md", b"d/a.md"));
    }

    #[test]
    fn classes_and_question_marks_are_go_regexps() {
        // `[!a]` is the class of `!` and `a`, not a negation.
        assert!(m("[!a].txt", b"a.txt") && m("[!a].txt", b"!.txt") && !m("[!a].txt", b"b.txt"));
        assert!(m("[^a].txt", b"b.txt") && !m("[^a].txt", b"a.txt"));
        // `?` is one character, however many bytes, or one byte that is not UTF-8.
        assert!(m("?.txt", "é.txt".as_bytes()) && !m("??.txt", "é.txt".as_bytes()));
        assert!(m("b?.bin", b"b\xff.bin") && !m("b?.bin", b"b\xff\xfe.bin"));
        assert!(!m("?", b"/"));
    }

    #[test]
    fn escapes_and_literals() {
        assert!(m("\\!x", b"!x") && m("{a,b}", b"{a,b}") && !m("{a,b}", b"a"));
        assert!(m("a+b*", b"a+bc") && !m("a+b*", b"aab"));
        // A byte order mark opening a pattern is skipped by the regexp (Go's scanner drops it),
        // but not by an exact comparison.
        assert!(m("\u{feff}*.md", b"a.md"));
        assert!(!m("\u{feff}a.md", b"a.md"));
    }

    #[test]
    fn bad_regexps_are_errors() {
        assert!(Pattern::new(b"[z-a]*".to_vec(), false).is_err());
    }
}
