//! `artifacts/metrics/<name>[@plan].json` (SPEC §6): what `test:X` measured of one image
//! variant — size, layers, build seconds, cold start, memory — and the same numbers of the
//! previously published version of that image, so that the variant report and the budgets
//! compare without asking anything else. Written by `images-test`, read by the report.
//! Never stored in image labels: images must stay reproducible.
use crate::exec::work::TaskError;
use crate::stack::runtime::Runtime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MetricsRecord {
    pub(crate) image: String,
    pub(crate) plan: Option<String>,
    /// The human reference of the measured image.
    pub(crate) reference: String,
    /// Unix seconds.
    pub(crate) measured_at: u64,
    pub(crate) numbers: Measured,
    /// The previously published version of the same image variant (its stable tag in the
    /// release repository) when one exists and differs from this one.
    #[serde(default)]
    pub(crate) previous: Option<Previous>,
}

/// The numbers of one image; a number dorun could not measure (no `[measure]`, no build
/// record) is None, never 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Measured {
    pub(crate) size_bytes: i64,
    pub(crate) layers: usize,
    /// From the build record; None when the image was not built by this project's runs.
    pub(crate) build_seconds: Option<f64>,
    /// Container create to ready, median of the runs.
    pub(crate) start_seconds: Option<f64>,
    /// Every run's start time, in order.
    #[serde(default)]
    pub(crate) start_runs: Vec<f64>,
    /// Peak and average memory while running, from the engine's stats.
    pub(crate) memory_peak_bytes: Option<u64>,
    pub(crate) memory_average_bytes: Option<u64>,
}

/// The previously published version and its numbers (from the registry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Previous {
    /// The reference it was read from, e.g. `registry/ns/web:latest`.
    pub(crate) reference: String,
    pub(crate) numbers: Measured,
}

fn path(rt: &Runtime, v: usize) -> std::path::PathBuf {
    rt.artifact(&format!("metrics/{}.json", rt.variant(v).key))
}

impl MetricsRecord {
    pub(crate) fn write(&self, rt: &Runtime, v: usize) -> Result<(), TaskError> {
        let text = serde_json::to_string_pretty(self).expect("a metrics record serializes") + "\n";
        crate::stack::artifacts::write_file(&path(rt, v), text.as_bytes())
    }

    /// The variant's record; unreadable or missing = none.
    // Read by the report and the budgets (issue 15, branch 15b).
    #[allow(dead_code)]
    pub(crate) fn read(rt: &Runtime, v: usize) -> Option<MetricsRecord> {
        let text = std::fs::read_to_string(path(rt, v)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_with_unmeasured_numbers_as_null() {
        let record = MetricsRecord {
            image: "web".into(),
            plan: Some("slim".into()),
            reference: "r/ns/web:slim-abc".into(),
            measured_at: 7,
            numbers: Measured {
                size_bytes: 10,
                layers: 2,
                build_seconds: Some(1.5),
                ..Default::default()
            },
            previous: Some(Previous {
                reference: "r/ns/web:slim".into(),
                numbers: Measured::default(),
            }),
        };
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains("\"start_seconds\":null"), "{json}");
        assert_eq!(
            serde_json::from_str::<MetricsRecord>(&json).unwrap(),
            record
        );
    }
}
