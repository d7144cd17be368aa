//! The tags this machine saw in the registry, and when, kept across runs in
//! `<state-dir>/published-v1` (`[stack] published-memory`, default a day).
//!
//! Content tags: a content tag names one identity and is only written by pushing that identity,
//! so once seen it stays true until someone deletes it: within the trusted time every run takes
//! it from here instead of asking the registry (a no-op run of 2000 images sent 2000 HEADs,
//! seconds on a busy registry). A tag that was not there is never remembered — another job may
//! push it any moment — and a fresh runner, without the state directory, asks the registry as
//! before. When the registry says otherwise (a push finds the remembered tag gone), the tag is
//! forgotten.
//!
//! The human and stable tags of pushes are kept here too (see `moving_tags`), but any push may
//! move them: only `list`, a quick look from local state, reads them.
use super::appended_memo::AppendedMemo;
use std::path::Path;
use std::time::Duration;

/// The file's name in the state directory.
const FILE: &str = "published-v1";
/// The value of a forgotten tag.
const GONE: &str = "gone";

pub(crate) struct PublishedMemory {
    memo: AppendedMemo,
    /// How long a sighting is trusted; ZERO: never (nothing is read or written).
    trust: Duration,
}

impl PublishedMemory {
    pub(crate) fn new(state_dir: &Path, trust: Duration) -> PublishedMemory {
        PublishedMemory {
            memo: AppendedMemo::new(state_dir, FILE, is_whole),
            trust,
        }
    }

    /// The digest `reference` (a content tag) named when it was seen in the registry, if that
    /// was within the trusted time before `now` (unix seconds).
    pub(crate) fn digest(&self, reference: &str, now: u64) -> Option<String> {
        if self.trust.is_zero() {
            return None;
        }
        let value = self.memo.get(reference)?;
        let (seen, digest) = value.split_once(' ')?;
        let age = now.saturating_sub(seen.parse().ok()?);
        (digest != GONE && age < self.trust.as_secs()).then(|| digest.to_string())
    }

    /// The registry holds `reference` (a content tag) under `digest` at `now`.
    pub(crate) fn saw(&self, reference: &str, digest: &str, now: u64) {
        if !self.trust.is_zero() {
            self.memo.put(reference, &format!("{now} {digest}"));
        }
    }

    /// Like `saw`, except that a sighting of the digest already recorded less than half the
    /// trusted time ago is not written again: the human and stable tags are asked by every
    /// `plan` and `push`, and a line per tag per run would grow the file by thousands of lines
    /// a run. The recorded time is then older than the last sighting, which only shortens the
    /// trust.
    pub(crate) fn saw_unless_recent(&self, reference: &str, digest: &str, now: u64) {
        let recent = now.saturating_sub(self.trust.as_secs() / 2);
        let recorded = self.memo.get(reference);
        let recorded = recorded.as_deref().and_then(|value| value.split_once(' '));
        let fresh = recorded.is_some_and(|(seen, recorded_digest)| {
            recorded_digest == digest && seen.parse::<u64>().is_ok_and(|seen| seen > recent)
        });
        if !fresh {
            self.saw(reference, digest, now);
        }
    }

    /// The registry no longer holds `reference`: it is asked again next time.
    pub(crate) fn forget(&self, reference: &str, now: u64) {
        if self.memo.get(reference).is_some() {
            self.memo.put(reference, &format!("{now} {GONE}"));
        }
    }
}

/// A `<reference> <unix seconds> <digest or "gone">` line.
fn is_whole(reference: &str, value: &str) -> bool {
    let Some((seen, digest)) = value.split_once(' ') else {
        return false;
    };
    let is_digest = |d: &str| {
        d.strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    !reference.is_empty() && seen.parse::<u64>().is_ok() && (digest == GONE || is_digest(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "r:5000/ns/web:1-id-0123456789ab";

    fn digest() -> String {
        format!("sha256:{}", "d".repeat(64))
    }

    #[test]
    fn a_sighting_is_trusted_for_the_set_time_then_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let memory = PublishedMemory::new(dir.path(), Duration::from_secs(3600));
        assert_eq!(memory.digest(TAG, 1000), None, "never seen");
        memory.saw(TAG, &digest(), 1000);
        let next_run = PublishedMemory::new(dir.path(), Duration::from_secs(3600));
        assert_eq!(next_run.digest(TAG, 1000 + 3599), Some(digest()));
        assert_eq!(
            next_run.digest(TAG, 1000 + 3600),
            None,
            "too old: ask again"
        );
    }

    #[test]
    fn a_forgotten_tag_is_asked_again_and_off_reads_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let memory = PublishedMemory::new(dir.path(), Duration::from_secs(3600));
        memory.saw(TAG, &digest(), 1000);
        memory.forget(TAG, 1001);
        assert_eq!(
            PublishedMemory::new(dir.path(), Duration::from_secs(3600)).digest(TAG, 1002),
            None
        );
        let off = PublishedMemory::new(dir.path(), Duration::ZERO);
        off.saw("r:5000/ns/other:1-id-0", &digest(), 1000);
        assert_eq!(off.digest(TAG, 1000), None);
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!is_whole(TAG, "1000 sha256:dd"), "a torn line");
    }

    #[test]
    fn a_sighting_of_the_same_digest_is_written_again_only_after_half_the_trusted_time() {
        let dir = tempfile::tempdir().unwrap();
        let memory = PublishedMemory::new(dir.path(), Duration::from_secs(3600));
        let stable = "r:5000/ns/web:stable";
        let other = format!("sha256:{}", "e".repeat(64));
        memory.saw_unless_recent(stable, &digest(), 1000);
        memory.saw_unless_recent(stable, &digest(), 1000 + 1799);
        assert_eq!(memory.digest(stable, 1000 + 3599), Some(digest()));
        assert_eq!(
            memory.digest(stable, 1000 + 3600),
            None,
            "trusted from the first sighting"
        );
        memory.saw_unless_recent(stable, &digest(), 1000 + 1800);
        assert_eq!(memory.digest(stable, 1000 + 3600), Some(digest()));
        memory.saw_unless_recent(stable, &other, 1000 + 1801);
        assert_eq!(memory.digest(stable, 1000 + 1802), Some(other), "moved");
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
