//! What a push left behind, per variant (`artifacts/push/<name>[@plan].json`). Each push rewrites
//! its record after every tag the registry accepted and the ledger recomputes IMAGES_PUSHED from
//! all records matching the current identities, so
//! a push cut short lists exactly what reached the registry, and a resumed run ends with the same
//! file as a clean one. No record ever holds a credential.
use crate::exec::work::TaskError;
use crate::stack::runtime::Runtime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PushRecord {
    pub registry: String,
    /// The human reference (`registry/ns/name:<prefix>-<sha7>`), as in IMAGES_BUILT.
    pub reference: String,
    pub content_reference: String,
    pub image_id: String,
    /// Every tag the registry accepted, in push order (content, human, stable).
    pub tags: Vec<PushedTag>,
    pub pushed_at: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PushedTag {
    pub reference: String,
    /// `sha256:…`, as the registry reported it.
    pub digest: String,
}

impl PushRecord {
    /// The manifest digest of the image (the content tag's), once it was pushed.
    pub(crate) fn digest(&self) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.reference == self.content_reference)
            .or(self.tags.first())
            .map(|t| t.digest.as_str())
    }

    /// IMAGES_PUSHED lines: `reference@sha256:…`.
    pub(crate) fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.tags
            .iter()
            .map(|t| format!("{}@{}", t.reference, t.digest))
    }
}

fn path(rt: &Runtime, v: usize) -> std::path::PathBuf {
    rt.artifact(&format!("push/{}.json", rt.variant(v).key))
}

pub(crate) fn write(rt: &Runtime, v: usize, record: &PushRecord) -> Result<(), TaskError> {
    let path = path(rt, v);
    let text = serde_json::to_string_pretty(record).expect("json") + "\n";
    crate::stack::artifacts::write_file(&path, text.as_bytes())
}

/// The variant's record, whatever identity it was written for (unreadable = none).
pub(crate) fn read_any(rt: &Runtime, v: usize) -> Option<PushRecord> {
    let text = std::fs::read_to_string(path(rt, v)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The variant's record if it describes a push of the current identity, under the current
/// human tag, to the configured registry: anything else is history, not this pipeline's result.
pub(crate) fn read_current(rt: &Runtime, v: usize) -> Option<PushRecord> {
    let record = read_any(rt, v)?;
    let facts = rt.facts(v).ok()?;
    let current = Some(&record.registry) == rt.spec.registry.as_ref()
        && record.content_reference == facts.content.to_string()
        && record.reference == rt.human(v).to_string();
    current.then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PushRecord {
        PushRecord {
            registry: "r:5000".into(),
            reference: "r:5000/ns/a:1-abc".into(),
            content_reference: "r:5000/ns/a:1-id-0123".into(),
            image_id: "sha256:img".into(),
            tags: vec![
                PushedTag {
                    reference: "r:5000/ns/a:1-id-0123".into(),
                    digest: "sha256:d1".into(),
                },
                PushedTag {
                    reference: "r:5000/ns/a:1-abc".into(),
                    digest: "sha256:d1".into(),
                },
            ],
            pushed_at: 0,
        }
    }

    #[test]
    fn lines_name_each_pushed_tag_in_push_order() {
        let lines: Vec<String> = record().lines().collect();
        assert_eq!(
            lines,
            [
                "r:5000/ns/a:1-id-0123@sha256:d1",
                "r:5000/ns/a:1-abc@sha256:d1"
            ]
        );
    }

    #[test]
    fn digest_is_the_content_tags() {
        assert_eq!(record().digest(), Some("sha256:d1"));
        assert_eq!(PushRecord::default().digest(), None);
    }
}
