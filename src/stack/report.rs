//! The variant report (SPEC §6): `manifests/REPORT.md` and `manifests/report.html`, written
//! from the metrics records of `artifacts/metrics/` — one row per image, one column group per
//! plan with the difference between plans, and each number's change against the previously
//! published version — by the ledger at the end of a run that tested an image. With
//! `GITHUB_STEP_SUMMARY` set, the Markdown is appended to that file too.
pub(crate) mod html;
pub(crate) mod markdown;
pub(crate) mod model;
pub(crate) mod svg;
pub(crate) mod units;

use crate::exec::work::TaskError;
use crate::stack::artifacts::write_file;
use crate::stack::manifest::record::manifests_dir;
use crate::stack::metrics_record::MetricsRecord;
use crate::stack::runtime::Runtime;
use std::io::Write;

/// Writes both files from every current variant's record; nothing when no variant has one.
pub(crate) fn write(rt: &Runtime) -> Result<(), TaskError> {
    let records: Vec<MetricsRecord> = (0..rt.spec.variants.len())
        .filter_map(|v| MetricsRecord::read(rt, v))
        .collect();
    if records.is_empty() {
        return Ok(());
    }
    let plans: Vec<String> = rt.spec.plans.iter().map(|p| p.name.clone()).collect();
    let report = model::Report::new(records, &plans, rt.git.short());
    let md = markdown::render(&report);
    let dir = manifests_dir(rt);
    write_file(&dir.join("REPORT.md"), md.as_bytes())?;
    write_file(&dir.join("report.html"), html::render(&report).as_bytes())?;
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut f| f.write_all(format!("\n{md}").as_bytes()));
        appended.map_err(|e| {
            TaskError::new(format!(
                "cannot append the report to GITHUB_STEP_SUMMARY ({}): {e}",
                std::path::Path::new(&summary).display()
            ))
        })?;
    }
    Ok(())
}
