//! Metrics records stored in the registry beside the image they describe (SPEC §6), the way
//! test results are handed off: a one-layer OCI artifact tagged `sha256-<hex of the image's
//! manifest digest>.metrics` (the referrers tag fallback) in the image's repository. `push:X`
//! stores one beside the pushed image, so a later run on a fresh runner reads the published
//! version's numbers with the image (`previous`).
use crate::exec::work::TaskError;
use crate::stack::metrics_record::MetricsRecord;
use crate::stack::runtime::Runtime;
use dorun_docker::{referrers_tag, Descriptor};

/// The media type of the metrics artifact's layer (and the artifact's type).
pub(crate) const METRICS_TYPE: &str = "application/vnd.dorun.metrics.v1+json";
/// The referrers tag suffix of the metrics artifact.
const METRICS_SUFFIX: &str = "metrics";

/// The metrics stored beside manifest `digest` of `repo`; None when there are none or they
/// cannot be read as a record (written by another tool or another version).
pub(crate) fn read(
    rt: &Runtime,
    repo: &str,
    digest: &str,
) -> Result<Option<MetricsRecord>, TaskError> {
    let tag = referrers_tag(digest, METRICS_SUFFIX);
    let bytes = rt.ask_registry(|r| r.artifact(repo, &tag))?;
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Stores `record` beside `subject` in `repo`, without its own `previous` (each version
/// carries its own numbers only). Returns the artifact's tag.
pub(crate) fn write(
    rt: &Runtime,
    repo: &str,
    subject: &Descriptor,
    record: &MetricsRecord,
) -> Result<String, TaskError> {
    let tag = referrers_tag(&subject.digest, METRICS_SUFFIX);
    let own = MetricsRecord {
        previous: None,
        ..record.clone()
    };
    let payload = serde_json::to_vec_pretty(&own).expect("a metrics record serializes");
    rt.ask_registry(|r| r.push_artifact(repo, &tag, METRICS_TYPE, &payload, Some(subject)))?;
    Ok(tag)
}

/// After `push:X` moved the stable tag: stores X's metrics record (this runner's, else the one
/// the test job handed off with the staged image) beside the pushed image, when it describes
/// this identity. A registry that refuses it only warns in the log: the image is published
/// either way, and the next version then compares with its manifest's numbers.
pub(crate) fn after_push(rt: &Runtime, v: usize, log: &mut std::fs::File) -> Result<(), TaskError> {
    use std::io::Write;
    let content = rt.facts(v)?.content.to_string();
    let this_image = |r: &MetricsRecord| r.content_reference == content;
    let record = match MetricsRecord::read(rt, v).filter(this_image) {
        Some(r) => Some(r),
        None => crate::stack::hand_off::handed_off_metrics(rt, v)?.filter(this_image),
    };
    let Some(record) = record else {
        let _ = writeln!(
            log,
            "no metrics record of {content} (not tested on this runner): none stored beside it"
        );
        return Ok(());
    };
    let stable = rt.stable(v);
    let stored = rt
        .ask_registry(|r| r.manifest_descriptor(&stable.repository, stable.tag()))
        .and_then(|subject| match subject {
            Some(subject) => write(rt, &stable.repository, &subject, &record).map(Some),
            None => Ok(None),
        });
    match stored {
        Ok(Some(tag)) => {
            let _ = writeln!(log, "metrics stored as {}:{tag}", stable.repository);
        }
        Ok(None) => {
            let _ = writeln!(
                log,
                "warning: {stable} vanished: no metrics stored beside it"
            );
        }
        Err(e) => {
            let _ = writeln!(log, "warning: metrics not stored beside {stable}: {e}");
        }
    }
    Ok(())
}
