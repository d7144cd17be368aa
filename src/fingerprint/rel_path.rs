//! Project-relative paths as lossless `String`s. Unix file names are bytes and need not be UTF-8;
//! fingerprints, records and the stat cache key files by `String`. A byte that is not part of
//! valid UTF-8 is stored as NUL followed by two lowercase hex digits: NUL is the one byte a Unix
//! path never holds, so the mapping is reversible and never collides with a real name, and UTF-8
//! paths (nearly all of them) are stored unchanged.
use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

const ESCAPE: char = '\0';

/// The string form of a relative path (or one file name).
pub(crate) fn encode(path: &OsStr) -> Cow<'_, str> {
    if let Some(s) = path.to_str() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(path.len() + 8);
    for chunk in path.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push(ESCAPE);
            out.push_str(&format!("{b:02x}"));
        }
    }
    Cow::Owned(out)
}

/// The path a string from [`encode`] stands for.
pub(crate) fn decode(rel: &str) -> Cow<'_, Path> {
    if !rel.contains(ESCAPE) {
        return Cow::Borrowed(Path::new(rel));
    }
    let mut bytes = Vec::with_capacity(rel.len());
    let mut parts = rel.split(ESCAPE);
    bytes.extend_from_slice(parts.next().unwrap_or_default().as_bytes());
    for part in parts {
        // Every escape is followed by two hex digits, by construction.
        let byte = part
            .get(..2)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match byte {
            Some(b) => {
                bytes.push(b);
                bytes.extend_from_slice(&part.as_bytes()[2..]);
            }
            None => bytes.extend_from_slice(part.as_bytes()),
        }
    }
    Cow::Owned(OsString::from_vec(bytes).into())
}

/// How a stored path is shown to people: bytes that are not UTF-8 as `\xNN`.
pub(crate) fn display(rel: &str) -> Cow<'_, str> {
    if !rel.contains(ESCAPE) {
        return Cow::Borrowed(rel);
    }
    Cow::Owned(rel.replace(ESCAPE, "\\x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_unchanged_and_other_bytes_round_trip() {
        assert_eq!(encode(OsStr::new("dé/a.txt")), "dé/a.txt");
        let raw = OsStr::from_bytes(b"d\xc3\xa9/b\xff\xfe.bin");
        let enc = encode(raw);
        assert_eq!(enc, "dé/b\u{0}ff\u{0}fe.bin");
        assert_eq!(decode(&enc).as_os_str(), raw);
        assert_eq!(display(&enc), "dé/b\\xff\\xfe.bin");
        assert_eq!(decode("plain/x"), Path::new("plain/x"));
    }

    #[test]
    fn distinct_names_stay_distinct() {
        // A real name that looks like an escape cannot contain the NUL.
        let a = encode(OsStr::from_bytes(b"\xff"));
        let b = encode(OsStr::new("\\xff"));
        let c = encode(OsStr::new("ff"));
        assert!(a != b && a != c && b != c);
    }
}
