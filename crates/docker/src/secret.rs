//! Build secrets: a value that BuildKit reads through the build's session
//! (`RUN --mount=type=secret,id=<id>`) and that must never be printed, with the mask that
//! replaces every value by `***` in the build's output (as GitHub Actions masks its secrets).

use std::borrow::Cow;

/// What replaces a secret value in every line of output.
pub const MASK: &str = "***";

/// The bytes of one secret. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> SecretValue {
        SecretValue(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

/// One secret of a build: BuildKit asks the session for it by `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSecret {
    pub id: String,
    pub value: SecretValue,
}

/// Replaces every secret value in a line by [`MASK`]. A value is masked whole and, when it
/// spans lines, line by line too, since output arrives one line at a time. Values that are
/// not UTF-8 are masked where their UTF-8 lines appear.
#[derive(Clone, Default)]
pub struct Masker {
    /// Longest first, so a value containing another is masked whole.
    needles: Vec<String>,
}

impl Masker {
    pub fn new(secrets: &[BuildSecret]) -> Masker {
        let mut needles: Vec<String> = Vec::new();
        for secret in secrets {
            let text = String::from_utf8_lossy(secret.value.bytes());
            let whole = text.trim_end_matches(['\n', '\r']);
            let pieces =
                std::iter::once(whole).chain(whole.lines().map(|l| l.trim_end_matches('\r')));
            for piece in pieces {
                // Blank lines carry nothing secret, and masking them would mask every space.
                if !piece.trim().is_empty() && !needles.iter().any(|n| n == piece) {
                    needles.push(piece.to_string());
                }
            }
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Masker { needles }
    }

    /// `line` with every secret value replaced by `***`.
    pub fn mask<'a>(&self, line: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(line);
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), MASK));
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} values)", self.needles.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(id: &str, value: &str) -> BuildSecret {
        BuildSecret {
            id: id.into(),
            value: SecretValue::new(value.as_bytes().to_vec()),
        }
    }

    #[test]
    fn every_occurrence_of_every_value_is_masked() {
        let m = Masker::new(&[secret("a", "s3cr3t"), secret("b", "hunter2\n")]);
        assert_eq!(
            m.mask("#5 s3cr3t and hunter2, s3cr3t again"),
            "#5 *** and ***, *** again"
        );
        assert!(matches!(m.mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_multi_line_value_is_masked_line_by_line() {
        let m = Masker::new(&[secret("key", "-----BEGIN-----\r\nAAAA\n\n-----END-----\n")]);
        assert_eq!(m.mask("#7 AAAA"), "#7 ***");
        assert_eq!(m.mask("#7 -----END-----"), "#7 ***");
        assert_eq!(
            m.mask("a b"),
            "a b",
            "blank lines of the value mask nothing"
        );
    }

    #[test]
    fn a_longer_value_containing_a_shorter_one_is_masked_whole() {
        let m = Masker::new(&[secret("short", "abc"), secret("long", "xxabcxx")]);
        assert_eq!(m.mask("xxabcxx abc"), "*** ***");
    }

    #[test]
    fn debug_never_shows_a_value() {
        let s = secret("tok", "s3cr3t");
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", Masker::new(&[s])).contains("s3cr3t"));
        assert!(Masker::new(&[secret("e", "")]).is_empty());
    }
}
