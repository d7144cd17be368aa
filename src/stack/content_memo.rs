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
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The file's name in the state directory; the version changes with the digest's recipe.
const FILE: &str = "content-digests-v1";

pub(crate) struct ContentMemo {
    path: PathBuf,
    digests: OnceLock<Mutex<HashMap<String, String>>>,
}

impl ContentMemo {
    pub(crate) fn new(state_dir: &Path) -> ContentMemo {
        ContentMemo {
            path: state_dir.join(FILE),
            digests: OnceLock::new(),
        }
    }

    /// The content digest recorded for image `id`, if any run recorded it.
    pub(crate) fn get(&self, id: &str) -> Option<String> {
        crate::sync::lock(self.digests()).get(id).cloned()
    }

    /// Records the content digest of image `id` for later runs. A file that cannot be written
    /// only means the next run inspects again.
    pub(crate) fn put(&self, id: &str, digest: &str) {
        let mut digests = crate::sync::lock(self.digests());
        if digests.get(id).map(String::as_str) == Some(digest) {
            return;
        }
        digests.insert(id.to_string(), digest.to_string());
        let appended = std::fs::create_dir_all(self.path.parent().unwrap_or(Path::new(".")))
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
            })
            // One write per line: appends of whole lines do not interleave.
            .and_then(|mut file| file.write_all(format!("{id} {digest}\n").as_bytes()));
        drop(appended);
    }

    fn digests(&self) -> &Mutex<HashMap<String, String>> {
        self.digests.get_or_init(|| {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            Mutex::new(parse(&text))
        })
    }
}

/// The `<image id> <digest>` lines of `text`; others are skipped.
fn parse(text: &str) -> HashMap<String, String> {
    let is_hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(id, digest)| id.strip_prefix("sha256:").is_some_and(is_hex) && is_hex(digest))
        .map(|(id, digest)| (id.to_string(), digest.to_string()))
        .collect()
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
        assert_eq!(parse(&text).len(), 1);
    }
}
