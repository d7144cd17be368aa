//! `artifacts/run.json`: the last run, one entry per selected task (SPEC §6).
use super::TaskResult;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
struct RunJson<'a> {
    version: u32,
    started_at: u64,
    seconds: f64,
    exit_code: i32,
    tasks: &'a [TaskResult],
}

pub(crate) fn write(
    path: &Path,
    started_at: u64,
    seconds: f64,
    exit_code: i32,
    results: &[TaskResult],
) -> std::io::Result<()> {
    let json = RunJson {
        version: 1,
        started_at,
        seconds,
        exit_code,
        tasks: results,
    };
    let mut text = serde_json::to_string_pretty(&json).map_err(std::io::Error::other)?;
    text.push('\n');
    crate::atomic_file::write_atomic(path, text.as_bytes())
}
