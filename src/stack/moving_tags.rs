//! The human and stable tags of pushes — *moving* tags: any push may move them to another image,
//! unlike a content tag — as this machine last saw them in the registry. Every answer the
//! registry gives about one (a HEAD, or this process pushing it) is kept in the published
//! memory, but only `list` reads it back (`MovingTags::Remembered`): like `doit list --status`
//! or `ninja -t query`, a quick look from local state, where asking about two tags per image
//! cost `list --all` of 2061 images 4122 HEADs. `plan`, `info`, `changed` and the runs that
//! push stay authoritative and ask the registry.
use super::published_memory::PublishedMemory;
use super::registry_view::RegistryView;
use std::time::Duration;

/// Where a run takes the digests of the human and stable tags of its pushes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum MovingTags {
    /// The registry, every run: what a run acts on or predicts must be the registry's truth.
    #[default]
    Ask,
    /// This machine's last sighting, within `published-memory` (`list`); a tag it has no fresh
    /// sighting of is asked.
    Remembered,
}

impl MovingTags {
    /// Takes into `answers` the remembered digest of each of `references` (moving tags) that
    /// the run has no answer for yet, when this run may; how many were taken.
    pub(crate) fn recall(
        self,
        memory: &PublishedMemory,
        answers: &RegistryView,
        references: &[String],
        now: u64,
    ) -> usize {
        if self == MovingTags::Ask {
            return 0;
        }
        let mut recalled = 0;
        for reference in references {
            if answers.known(reference).is_some() {
                continue;
            }
            if let Some(digest) = memory.digest(reference, now) {
                answers.remember(reference, Some(digest));
                recalled += 1;
            }
        }
        recalled
    }
}

/// The registry's answer about moving tag `reference` (its digest, None: no such tag), asked or
/// just written by this process: kept for later `list`s, and a tag the registry says is gone is
/// forgotten, so the memory never claims a tag the registry no longer has.
pub(crate) fn record(memory: &PublishedMemory, reference: &str, answer: Option<&str>, now: u64) {
    match answer {
        Some(digest) => memory.saw_unless_recent(reference, digest, now),
        None => memory.forget(reference, now),
    }
}

/// What `list` says on stderr when it took `recalled` moving tags from memory: its statuses
/// of those pushes may be behind a push made elsewhere since.
pub(crate) fn note(recalled: usize, trust: Duration) -> String {
    let tags = if recalled == 1 { "tag" } else { "tags" };
    format!(
        "dorun: list took {recalled} human and stable {tags} from this machine's memory of the \
         registry (published-memory {}); `dorun plan push` asks the registry",
        humantime::format_duration(trust)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUMAN: &str = "r:5000/ns/web:1-abc1234";
    const STABLE: &str = "r:5000/ns/web:stable";

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn only_a_remembered_run_takes_fresh_sightings_and_asks_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let memory = PublishedMemory::new(dir.path(), Duration::from_secs(3600));
        record(&memory, HUMAN, Some(&digest('a')), 1000);
        let references = [HUMAN.to_string(), STABLE.to_string()];

        let asking = RegistryView::default();
        assert_eq!(
            MovingTags::Ask.recall(&memory, &asking, &references, 1001),
            0
        );
        assert_eq!(asking.known(HUMAN), None, "asked, not remembered");

        let listing = RegistryView::default();
        let recalled = MovingTags::Remembered.recall(&memory, &listing, &references, 1001);
        assert_eq!(recalled, 1);
        assert_eq!(listing.known(HUMAN), Some(Some(digest('a'))));
        assert_eq!(listing.known(STABLE), None, "never seen: asked");

        let later = RegistryView::default();
        let expired = MovingTags::Remembered.recall(&memory, &later, &references, 1000 + 3600);
        assert_eq!(expired, 0, "older than published-memory: asked");
    }

    #[test]
    fn an_answer_already_in_the_run_wins_and_a_tag_found_gone_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let memory = PublishedMemory::new(dir.path(), Duration::from_secs(3600));
        record(&memory, STABLE, Some(&digest('a')), 1000);
        let answers = RegistryView::default();
        answers.remember(STABLE, Some(digest('b')));
        let references = [STABLE.to_string()];
        assert_eq!(
            MovingTags::Remembered.recall(&memory, &answers, &references, 1001),
            0
        );
        assert_eq!(answers.known(STABLE), Some(Some(digest('b'))));

        record(&memory, STABLE, None, 1002);
        let next_run = PublishedMemory::new(dir.path(), Duration::from_secs(3600));
        let fresh = RegistryView::default();
        assert_eq!(
            MovingTags::Remembered.recall(&next_run, &fresh, &references, 1003),
            0,
            "the registry said it is gone"
        );
    }

    #[test]
    fn off_remembers_nothing_so_list_asks() {
        let dir = tempfile::tempdir().unwrap();
        let off = PublishedMemory::new(dir.path(), Duration::ZERO);
        record(&off, HUMAN, Some(&digest('a')), 1000);
        let answers = RegistryView::default();
        let references = [HUMAN.to_string()];
        assert_eq!(
            MovingTags::Remembered.recall(&off, &answers, &references, 1001),
            0
        );
        assert!(!dir.path().join("published-v1").exists());
    }

    #[test]
    fn the_note_names_the_count_and_the_setting() {
        let note = note(4122, Duration::from_secs(24 * 3600));
        assert!(note.contains("4122 human and stable tags"), "{note}");
        assert!(note.contains("published-memory 1day"), "{note}");
    }
}
