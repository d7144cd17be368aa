//! The parts of Go's standard library that moby's `.dockerignore` code relies on, with Go's
//! behaviour where Rust's differs: `filepath.Clean`, `strings.TrimSpace` on bytes, the syntax
//! check of `filepath.Match`, how Go's `regexp` reads a byte string, and Go's regexp dialect.
//! Paths and patterns are bytes here: a Unix file name need not be UTF-8.

use std::borrow::Cow;

/// Go's `filepath.Clean` on Unix: one `/` between elements, no `.` elements, `..` removing the
/// element before it (kept at the start of a relative path, dropped at the root), `.` for
/// nothing.
pub(crate) fn clean(path: &[u8]) -> Vec<u8> {
    let rooted = path.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => match parts.last() {
                Some(last) if *last != b".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(part),
            },
            _ => parts.push(part),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    if rooted {
        out.push(b'/');
    }
    out.extend_from_slice(&parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

/// Go's `strings.TrimSpace`: Unicode white space off both ends; a byte that is not UTF-8 is
/// never space.
pub(crate) fn trim_space(text: &[u8]) -> &[u8] {
    // Space can only sit in the valid UTF-8 run at either end.
    let lead = text.utf8_chunks().next().map_or(0, |c| {
        let valid = c.valid();
        valid.len() - valid.trim_start().len()
    });
    if lead == text.len() {
        return &[];
    }
    let trail = match text.utf8_chunks().last() {
        Some(c) if c.invalid().is_empty() => c.valid().len() - c.valid().trim_end().len(),
        _ => 0,
    };
    &text[lead..text.len() - trail]
}

/// A byte string as Go's `regexp` and `text/scanner` read it: UTF-8, with every byte of an
/// invalid sequence standing for one U+FFFD.
pub(crate) fn go_runes(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut s = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                s.push_str(chunk.valid());
                s.extend(chunk.invalid().iter().map(|_| char::REPLACEMENT_CHARACTER));
            }
            Cow::Owned(s)
        }
    }
}

/// Go's `utf8.DecodeRune`: the character and its width, or `None` and width 1 for a byte that
/// does not start a valid sequence.
fn decode_rune(bytes: &[u8]) -> (Option<char>, usize) {
    let width = match bytes[0] {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return (None, 1),
    };
    match bytes.get(..width).map(std::str::from_utf8) {
        Some(Ok(s)) => (s.chars().next(), width),
        _ => (None, 1),
    }
}

/// What Go's `filepath.Match(pattern, ".")` rejects with `ErrBadPattern`, which moby uses as its
/// syntax check: a trailing `\`, and a `[...]` class that is unterminated, empty, has a bound
/// that is `-`, `]` or a byte that is not UTF-8, or ends the pattern.
pub(crate) fn check_match_syntax(pattern: &[u8]) -> Result<(), &'static str> {
    const BAD: &str = "syntax error in pattern";
    // Go's getEsc: one class character, possibly `\`-escaped; the pattern must go on after it.
    let class_char = |at: usize| -> Result<usize, &'static str> {
        let mut at = at;
        match pattern.get(at) {
            None | Some(b'-') | Some(b']') => return Err(BAD),
            Some(b'\\') => {
                at += 1;
                if at == pattern.len() {
                    return Err(BAD);
                }
            }
            Some(_) => {}
        }
        let (c, width) = decode_rune(&pattern[at..]);
        if c.is_none() || at + width == pattern.len() {
            return Err(BAD);
        }
        Ok(at + width)
    };
    let mut at = 0;
    while at < pattern.len() {
        match pattern[at] {
            b'[' => {
                at += 1;
                if pattern.get(at) == Some(&b'^') {
                    at += 1;
                }
                let mut ranges = 0;
                loop {
                    if pattern.get(at) == Some(&b']') && ranges > 0 {
                        at += 1;
                        break;
                    }
                    at = class_char(at)?;
                    if pattern[at] == b'-' {
                        at = class_char(at + 1)?;
                    }
                    ranges += 1;
                }
            }
            b'\\' => {
                if at + 1 == pattern.len() {
                    return Err(BAD);
                }
                at += 2;
            }
            _ => at += 1,
        }
    }
    Ok(())
}

/// Rewrites a regexp in Go's (RE2) syntax, as moby builds one from a pattern, into the syntax of
/// the `regex` crate where the two read the same text differently: inside a class Go takes `[`
/// (unless it opens `[:name:]`), `&`, `~` and a `-` that is no range literally, where Rust sees a
/// nested class or a set operation; and Go reads any escaped punctuation as itself, where Rust
/// gives `\<` and `\>` a meaning. Invalid regexps stay invalid.
pub(crate) fn go_regexp_to_rust(go: &str) -> String {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut at = 0;
    while at < chars.len() {
        match chars[at] {
            '\\' => {
                let (text, next) = escaped(&chars, at, false);
                out.push_str(&text);
                at = next;
            }
            '[' => at = class(&chars, at, &mut out),
            c => {
                out.push(c);
                at += 1;
            }
        }
    }
    out
}

/// The class opening at `chars[open]`, written to `out`; returns the index after it.
fn class(chars: &[char], open: usize, out: &mut String) -> usize {
    out.push('[');
    let mut at = open + 1;
    if chars.get(at) == Some(&'^') {
        out.push('^');
        at += 1;
    }
    let mut first = true;
    while let Some(&c) = chars.get(at) {
        // A `]` first in the class is a literal, in Go as in Rust.
        if c == ']' && !first {
            out.push(']');
            return at + 1;
        }
        first = false;
        if c == '[' && chars.get(at + 1) == Some(&':') {
            if let Some(end) = find(chars, at + 2, &[':', ']']) {
                out.extend(&chars[at..end + 2]);
                at = end + 2;
                continue;
            }
        }
        let (lo, next) = class_atom(chars, at);
        out.push_str(&lo);
        at = next;
        if chars.get(at) == Some(&'-') && chars.get(at + 1).is_some_and(|&c| c != ']') {
            let (hi, next) = class_atom(chars, at + 1);
            out.push('-');
            out.push_str(&hi);
            at = next;
        }
    }
    // Unterminated: left unterminated, so that Rust rejects it as Go does.
    chars.len()
}

/// One character (or escape) inside a class, in Rust's syntax.
fn class_atom(chars: &[char], at: usize) -> (String, usize) {
    match chars[at] {
        '\\' => escaped(chars, at, true),
        c if matches!(c, '[' | ']' | '-' | '&' | '~' | '^') => (format!("\\{c}"), at + 1),
        c => (c.to_string(), at + 1),
    }
}

/// The escape at `chars[at]` (a `\`): punctuation is a literal in Go, letters and digits keep
/// their meaning (`\d`, `\n`, ...), which Rust shares.
fn escaped(chars: &[char], at: usize, in_class: bool) -> (String, usize) {
    match chars.get(at + 1) {
        None => ("\\".into(), at + 1),
        Some(&c) if c.is_ascii_punctuation() => {
            let meta = if in_class {
                matches!(c, '[' | ']' | '\\' | '-' | '&' | '~' | '^')
            } else {
                regex_syntax_meta(c)
            };
            let text = if meta {
                format!("\\{c}")
            } else {
                c.to_string()
            };
            (text, at + 2)
        }
        Some(&c) => (format!("\\{c}"), at + 2),
    }
}

/// The characters the `regex` crate gives a meaning outside a class.
fn regex_syntax_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
}

fn find(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..chars.len().saturating_sub(needle.len() - 1))
        .find(|&i| chars[i..i + needle.len()] == *needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        for (input, want) in [
            ("", "."),
            ("a//b/./c/", "a/b/c"),
            ("../x", "../x"),
            ("a/../../x", "../x"),
            ("/../x", "/x"),
            ("/", "/"),
            ("!x/..", "."),
            ("build/../src", "src"),
        ] {
            assert_eq!(clean(input.as_bytes()), want.as_bytes(), "{input}");
        }
    }

    #[test]
    fn trim_space_like_go() {
        assert_eq!(trim_space(b" \t a b \r"), b"a b");
        assert_eq!(trim_space("\u{a0}x\u{3000}".as_bytes()), b"x");
        assert_eq!(trim_space(b"  "), b"");
        assert_eq!(trim_space(b" \xff "), b"\xff");
        // U+FEFF is not white space.
        assert_eq!(trim_space("\u{feff}x".as_bytes()), "\u{feff}x".as_bytes());
    }

    #[test]
    fn invalid_bytes_are_one_rune_each() {
        assert_eq!(go_runes(b"a\xff\xe2\x82b"), "a\u{fffd}\u{fffd}\u{fffd}b");
        assert_eq!(go_runes("é".as_bytes()), "é");
    }

    #[test]
    fn match_syntax_errors_like_go() {
        for ok in [
            "a", "*.md", "[!a]", "[^a-z]x", "\\*", "[a\\]]x", "**/x", "a]", "[*]x",
        ] {
            assert_eq!(check_match_syntax(ok.as_bytes()), Ok(()), "{ok}");
        }
        for bad in ["[", "[]", "[]a]", "[a", "a\\", "[-a]x", "[a-]x", "[\\"] {
            assert!(check_match_syntax(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(check_match_syntax(b"[\xff]").is_err());
    }

    #[test]
    fn regexp_dialect() {
        assert_eq!(go_regexp_to_rust("^[!a]\\.txt$"), "^[!a]\\.txt$");
        assert_eq!(go_regexp_to_rust("^[[a]$"), "^[\\[a]$");
        assert_eq!(go_regexp_to_rust("^[a&&b~~c]$"), "^[a\\&\\&b\\~\\~c]$");
        assert_eq!(go_regexp_to_rust("^[!--]$"), "^[!-\\-]$");
        assert_eq!(go_regexp_to_rust("^[[:alpha:]]$"), "^[[:alpha:]]$");
        assert_eq!(go_regexp_to_rust("^[]a]$"), "^[\\]a]$");
        assert_eq!(go_regexp_to_rust("^a\\<b$"), "^a<b$");
        assert_eq!(go_regexp_to_rust("^a\\!b$"), "^a!b$");
        assert_eq!(go_regexp_to_rust("^a\\.b$"), "^a\\.b$");
    }
}
