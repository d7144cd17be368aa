//! The pipeline's changed set: the content references `images-changed` found unpublished, kept
//! in the state dir (`.dorun/pipeline`) so that a run resumed after a push was cut short still
//! counts the images it already pushed as changed, and writes the same lists as one
//! uninterrupted run (SPEC §6). An entry lasts as long as its variant keeps that identity.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Content references (`registry/ns/name:prefix-id-<hex>`), one per line in the file.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ChangedSet {
    references: BTreeSet<String>,
}

impl ChangedSet {
    pub(crate) fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("pipeline")
    }

    /// The stored set; a missing or unreadable file is an empty set (the registry decides).
    pub(crate) fn load(state_dir: &Path) -> ChangedSet {
        let text = std::fs::read_to_string(Self::path(state_dir)).unwrap_or_default();
        ChangedSet {
            references: text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    pub(crate) fn contains(&self, content_reference: &str) -> bool {
        self.references.contains(content_reference)
    }

    /// The set after a `changed` run: what it found unpublished now, plus what the pipeline had
    /// already found unpublished for the identities still current (those may have been pushed
    /// since). Entries of identities no longer in the stack are dropped.
    pub(crate) fn updated(&self, unpublished: &[String], current: &[String]) -> ChangedSet {
        let current: BTreeSet<&String> = current.iter().collect();
        let references = self
            .references
            .iter()
            .filter(|r| current.contains(r))
            .chain(unpublished)
            .cloned()
            .collect();
        ChangedSet { references }
    }

    /// Written atomically, before IMAGES_CHANGED: a kill between the two leaves a set that the
    /// next `changed` run reproduces.
    pub(crate) fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        let mut text = String::new();
        for r in &self.references {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::create_dir_all(state_dir)?;
        crate::atomic_file::write_atomic(&Self::path(state_dir), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(refs: &[&str]) -> ChangedSet {
        ChangedSet {
            references: refs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn strings(refs: &[&str]) -> Vec<String> {
        refs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_pushed_image_stays_changed_while_its_identity_is_current() {
        let before = set(&["r/ns/a:t-id-1", "r/ns/b:t-id-2"]);
        // b was pushed by the killed run: the registry no longer reports it unpublished.
        let after = before.updated(
            &strings(&["r/ns/a:t-id-1"]),
            &strings(&["r/ns/a:t-id-1", "r/ns/b:t-id-2"]),
        );
        assert_eq!(after, before);
    }

    #[test]
    fn a_new_identity_replaces_the_old_entry() {
        let before = set(&["r/ns/a:t-id-1"]);
        let after = before.updated(&[], &strings(&["r/ns/a:t-id-9"]));
        assert_eq!(after, set(&[]));
    }

    #[test]
    fn round_trips_through_the_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let s = set(&["r/ns/a:t-id-1", "r/ns/b:t-id-2"]);
        s.save(dir.path()).unwrap();
        assert_eq!(ChangedSet::load(dir.path()), s);
        assert_eq!(ChangedSet::load(&dir.path().join("missing")), set(&[]));
    }
}
