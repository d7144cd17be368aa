//! `artifacts/build/<name>[@plan].json` (SPEC §6): what one build produced — layers, sizes, ids,
//! build time, and each Dockerfile step (cached or not, seconds) — written by `images-build`
//! and read back by `images-manifest` as this one type.
use crate::exec::work::TaskError;
use crate::stack::runtime::Runtime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BuildRecord {
    pub(crate) image: String,
    pub(crate) plan: Option<String>,
    /// The human reference.
    pub(crate) reference: String,
    pub(crate) content_reference: String,
    pub(crate) image_id: String,
    pub(crate) size: i64,
    pub(crate) build_seconds: f64,
    /// Unix seconds.
    pub(crate) built_at: u64,
    pub(crate) git_commit: Option<String>,
    pub(crate) layers: Vec<BuildLayer>,
    /// Each Dockerfile step in the order the builder started it; records written before steps
    /// were recorded read as none.
    #[serde(default)]
    pub(crate) steps: Vec<BuildStepRecord>,
}

/// One Dockerfile step of the build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BuildStepRecord {
    /// `2/5`, or with BuildKit's stage in multi-stage builds `stage-1 2/5`.
    pub(crate) step: String,
    /// As the builder shows it (BuildKit expands build args: `RUN echo 3.11`).
    pub(crate) instruction: String,
    pub(crate) cached: bool,
    pub(crate) seconds: f64,
}

impl From<&dorun_docker::BuildStep> for BuildStepRecord {
    fn from(step: &dorun_docker::BuildStep) -> Self {
        BuildStepRecord {
            step: step.position.clone(),
            instruction: step.instruction.clone(),
            cached: step.cached,
            seconds: step.seconds,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BuildLayer {
    pub(crate) created_by: String,
    pub(crate) size: i64,
    pub(crate) created: i64,
    pub(crate) id: String,
}

fn path(rt: &Runtime, v: usize) -> std::path::PathBuf {
    rt.artifact(&format!("build/{}.json", rt.variant(v).key))
}

impl BuildRecord {
    pub(crate) fn write(&self, rt: &Runtime, v: usize) -> Result<(), TaskError> {
        let text = serde_json::to_string_pretty(self).expect("a build record serializes") + "\n";
        crate::stack::artifacts::write_file(&path(rt, v), text.as_bytes())
    }

    /// The variant's record when it describes this very image (an image tagged without a
    /// rebuild, or built before artifacts were wiped, has none); unreadable = none.
    pub(crate) fn read_for(rt: &Runtime, v: usize, content_reference: &str) -> Option<BuildRecord> {
        let text = std::fs::read_to_string(path(rt, v)).ok()?;
        let record: BuildRecord = serde_json::from_str(&text).ok()?;
        (record.content_reference == content_reference).then_some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_with_the_documented_keys() {
        let record = BuildRecord {
            image: "web".into(),
            plan: Some("slim".into()),
            reference: "r/ns/web:1-abc".into(),
            content_reference: "r/ns/web:1-id-0123".into(),
            image_id: "sha256:1".into(),
            size: 10,
            build_seconds: 1.5,
            built_at: 7,
            git_commit: None,
            layers: vec![BuildLayer {
                created_by: "RUN x".into(),
                size: 3,
                created: 5,
                id: "sha256:2".into(),
            }],
            steps: vec![BuildStepRecord {
                step: "2/5".into(),
                instruction: "RUN make".into(),
                cached: true,
                seconds: 0.25,
            }],
        };
        let json = serde_json::to_string(&record).unwrap();
        for key in [
            "\"build_seconds\"",
            "\"layers\"",
            "\"created_by\"",
            "\"content_reference\"",
            "\"steps\"",
            "\"instruction\"",
            "\"cached\"",
            "\"seconds\"",
        ] {
            assert!(json.contains(key), "{json}");
        }
        assert_eq!(serde_json::from_str::<BuildRecord>(&json).unwrap(), record);
    }

    #[test]
    fn a_record_from_before_steps_were_recorded_reads_with_none() {
        let old = r#"{"image":"web","plan":null,"reference":"r","content_reference":"c",
            "image_id":"sha256:1","size":1,"build_seconds":1.0,"built_at":1,"git_commit":null,
            "layers":[]}"#;
        let record: BuildRecord = serde_json::from_str(old).unwrap();
        assert!(record.steps.is_empty());
    }
}
