//! The digest of an image's content (restat's `parent_content`: layers and settings) by image
//! id, kept in the state directory across runs. An image id is the digest of the image's
//! config, which holds those layers and settings, so the content digest of an id never
//! changes: a run that finds a parent under an id it knows (from the run's one listing of the
//! engine) inspects nothing. Before, every run inspected each parent once — 61 inspections for
//! a no-op build of a 1 → 60 → 2000 stack, each tens of milliseconds on a busy engine.
//!
//! The file (`content-digests`, one `<image id> <digest>` line per image) only grows by
//! appended lines; a line that does not read as one (a write cut short) is skipped. Losing the
//! file costs one inspection per parent, never a wrong answer.
use super::appended_memo::AppendedMemo;
use std::path::Path;

/// The file's name in the state directory; the version changes with the digest's recipe.
const FILE: &str = "content-digests-v1";

pub(crate) struct ContentMemo(AppendedMemo);

impl ContentMemo {
    pub(crate) fn new(state_dir: &Path) -> ContentMemo {
        ContentMemo(AppendedMemo::new(state_dir, FILE, is_whole))
    }

    /// The content digest recorded for image `id`, if any run recorded it.
    pub(crate) fn get(&self, id: &str) -> Option<String> {
        self.0.get(id)
    }

    /// Records the content digest of image `id` for later runs. A file that cannot be written
    /// only means the next run inspects again.
    pub(crate) fn put(&self, id: &str, digest: &str) {
        self.0.put(id, digest);
    }
}

/// A `<image id> <digest>` line.
fn is_whole(id: &str, digest: &str) -> bool {
    let is_hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    id.strip_prefix("sha256:").is_some_and(is_hex) && is_hex(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_recorded_by_one_run_is_read_by_the_next_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let (id, digest) = (format!("sha256:{}", "a".repeat(64)), "b".repeat(64));
        let first = ContentMemo::new(dir.path());
        assert_eq!(first.get(&id), None);
        first.put(&id, &digest);
        assert_eq!(first.get(&id).as_deref(), Some(digest.as_str()));
        // A line cut short by a killed run, then one more.
        let path = dir.path().join(FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("sha256:cccc");
        std::fs::write(&path, &text).unwrap();
        let next = ContentMemo::new(dir.path());
        assert_eq!(next.get(&id).as_deref(), Some(digest.as_str()));
        assert!(!is_whole("sha256:cccc", ""));
    }
}
