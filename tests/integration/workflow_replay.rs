//! Replays the jobs of a workflow written by `dorun ci github` on this machine, without GitHub:
//! jobs in `needs:` order (file order among the ready ones), a matrix job once per entry, and of
//! each job only the steps that run dorun (checkout, install and uploads are GitHub's part), with
//! the workflow's, job's and step's `env` (`${{ matrix.image }}` filled in; values that are other
//! expressions, the secrets, are left out). Where each job runs is the caller's `runner`
//! callback: the same copy of the project for every job, or a fresh machine each time.
use crate::harness::{scrub, DORUN};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One run of a job (one matrix entry of a matrix job).
pub(crate) struct JobRun {
    pub job: String,
    /// The matrix entry's `image`, for a matrix job.
    pub matrix_image: Option<String>,
}

/// Where a job runs: the checkout it starts in (the repository root) and extra environment
/// (`DOCKER_HOST` of a second engine...).
pub(crate) struct Runner {
    pub checkout: PathBuf,
    pub env: Vec<(String, String)>,
}

/// What one job run did, handed to `after_job` before the next job starts.
pub(crate) struct JobOutcome {
    pub run: JobRun,
    /// The directory the dorun steps ran in.
    pub dir: PathBuf,
    pub output: String,
}

/// The workflow's text parsed as YAML.
pub(crate) fn parse(yaml: &str) -> Value {
    serde_yaml_ng::from_str(yaml)
        .unwrap_or_else(|e| panic!("the workflow is not YAML: {e}\n{yaml}"))
}

/// The job ids in an order where each job comes after every job it `needs`.
pub(crate) fn needs_order(workflow: &Value) -> Vec<String> {
    let jobs = workflow["jobs"].as_object().expect("jobs");
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < jobs.len() {
        let before = order.len();
        for (id, job) in jobs {
            let ready = needs(job).iter().all(|n| done.contains(n));
            if !done.contains(id) && ready {
                order.push(id.clone());
            }
        }
        assert!(
            order.len() > before,
            "jobs whose needs never finish: {jobs:?}"
        );
        done.extend(order[before..].iter().cloned());
    }
    order
}

/// A job's `needs`, as a list.
pub(crate) fn needs(job: &Value) -> Vec<String> {
    match &job["needs"] {
        Value::Null => Vec::new(),
        Value::String(one) => vec![one.clone()],
        Value::Array(list) => list
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect(),
        other => panic!("bad needs: {other}"),
    }
}

/// The `run` text of every step that runs dorun.
pub(crate) fn dorun_lines(job: &Value) -> Vec<String> {
    job["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter(|r| r.trim_start().starts_with("dorun "))
        .map(str::to_string)
        .collect()
}

/// Runs every job as described above; a job whose dorun fails fails the test with its output.
/// `home` is the HOME of every dorun (no credentials unless the caller put some there).
pub(crate) fn replay(
    workflow: &Value,
    home: &Path,
    runner: &mut dyn FnMut(&JobRun) -> Runner,
    after_job: &mut dyn FnMut(&JobOutcome),
) {
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(DORUN, bin.path().join("dorun")).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for id in needs_order(workflow) {
        let job = &workflow["jobs"][&id];
        let entries: Vec<Option<String>> = match job["strategy"]["matrix"]["image"].as_array() {
            Some(images) => images
                .iter()
                .map(|i| Some(i.as_str().unwrap().into()))
                .collect(),
            None => vec![None],
        };
        for matrix_image in entries {
            let run = JobRun {
                job: id.clone(),
                matrix_image,
            };
            let setup = runner(&run);
            let dir = match job["defaults"]["run"]["working-directory"].as_str() {
                Some(sub) => setup.checkout.join(sub),
                None => setup.checkout.clone(),
            };
            let mut output = String::new();
            for step in job["steps"].as_array().unwrap() {
                let Some(line) = step["run"].as_str().filter(|r| r.starts_with("dorun ")) else {
                    continue;
                };
                let mut cmd = Command::new("bash");
                scrub(&mut cmd, home);
                for scope in [&workflow["env"], &job["env"], &step["env"]] {
                    for (k, v) in scope.as_object().into_iter().flatten() {
                        if let Some(v) = expand(v.as_str().unwrap(), run.matrix_image.as_deref()) {
                            cmd.env(k, v);
                        }
                    }
                }
                let out = cmd
                    .env("PATH", &path)
                    .envs(setup.env.iter().map(|(k, v)| (k, v)))
                    .args(["-e", "-c", line])
                    .current_dir(&dir)
                    .output()
                    .unwrap();
                let text = format!(
                    "$ {line}\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    out.status.success(),
                    "job {id} ({:?}) failed ({}):\n{text}",
                    run.matrix_image,
                    out.status
                );
                output.push_str(&text);
            }
            after_job(&JobOutcome { run, dir, output });
        }
    }
}

/// An env value outside GitHub: `${{ matrix.image }}` filled in; None for other expressions.
fn expand(value: &str, matrix_image: Option<&str>) -> Option<String> {
    let filled = match matrix_image {
        Some(image) => value.replace("${{ matrix.image }}", image),
        None => value.to_string(),
    };
    (!filled.contains("${{")).then_some(filled)
}
