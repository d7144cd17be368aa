//! Generic shell tasks (doit's task dict): `run` commands with `sh -c`, inputs hashed into the
//! fingerprint, outputs hashed after a success and checked before the next decision.
use super::work::{Decision, Produced, TaskCx, TaskError, Work};
use crate::config::{Project, ShellSpec};
use crate::fingerprint::{files, DirtyReason, Fingerprint, Hash, RecordSummary, StatCache};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

pub(crate) struct ShellWork {
    pub spec: ShellSpec,
}

/// The task's input files and their hashes, sorted. A missing literal input enters with a zero
/// hash so that its appearance later makes the task stale; execute() refuses to run without it.
fn hash_inputs(
    root: &Path,
    patterns: &[String],
    cache: &StatCache,
) -> Result<Vec<(String, Hash)>, TaskError> {
    let expansion = files::expand(root, patterns);
    let mut inputs = files::hash_all(root, &expansion.files, cache)
        .map_err(|e| TaskError::new(format!("cannot read an input: {e}")))?;
    for missing in &expansion.missing {
        inputs.push((missing.clone(), [0; 32]));
    }
    inputs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(inputs)
}

impl Work for ShellWork {
    fn prefetch(&self, project: &Project, cache: &StatCache) -> Option<Vec<(String, Hash)>> {
        hash_inputs(&project.root, &self.spec.inputs, cache).ok()
    }

    fn fingerprint(&self, cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let prefetched = crate::sync::lock(&cx.prefetched).take();
        let inputs = match prefetched {
            Some(inputs) => inputs,
            None => hash_inputs(cx.root(), &self.spec.inputs, cx.cache)?,
        };
        let mut settings = BTreeMap::new();
        settings.insert("outputs".to_string(), self.spec.outputs.join("\n"));
        Ok(Fingerprint {
            kind: "shell".into(),
            command: self.spec.run.clone(),
            env: self.spec.env.clone(),
            dir: self.spec.dir.clone(),
            settings,
            inputs,
            deps: cx.deps.clone(),
        })
    }

    fn stale_reasons(&self, cx: &TaskCx, record: &RecordSummary) -> Vec<DirtyReason> {
        let mut reasons = Vec::new();
        for (path, recorded) in &record.outputs {
            match std::fs::metadata(cx.root().join(path)) {
                Err(_) => reasons.push(DirtyReason::OutputMissing(path.clone())),
                Ok(meta) => match cx.cache.hash(cx.root(), path, &meta) {
                    Ok(h) if h == *recorded => {}
                    _ => reasons.push(DirtyReason::OutputChanged(path.clone())),
                },
            }
        }
        // A declared output that matched nothing last time and still matches nothing.
        for missing in files::missing_literals(cx.root(), &self.spec.outputs) {
            if !reasons.contains(&DirtyReason::OutputMissing(missing.clone())) {
                reasons.push(DirtyReason::OutputMissing(missing));
            }
        }
        if reasons.is_empty() {
            for check in &self.spec.uptodate {
                let devnull = File::options().write(true).open("/dev/null");
                let ok = devnull.ok().is_some_and(|null| {
                    cx.procs
                        .run_shell(
                            check,
                            &cx.root().join(&self.spec.dir),
                            &self.spec.env,
                            &null,
                            None,
                        )
                        .is_ok()
                });
                if !ok {
                    reasons.push(DirtyReason::UptodateFailed(check.clone()));
                    break;
                }
            }
        }
        reasons
    }

    fn always(&self) -> bool {
        self.spec.always
    }

    fn execute(
        &self,
        cx: &TaskCx,
        _decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        if let Some(missing) = files::missing_literals(cx.root(), &self.spec.inputs).first() {
            return Err(TaskError::new(format!("input {missing} does not exist")));
        }
        let cwd = cx.root().join(&self.spec.dir);
        let deadline = self.spec.timeout.map(|t| std::time::Instant::now() + t);
        for command in &self.spec.run {
            let _ = writeln!(log, "$ {command}");
            let remaining =
                deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            cx.procs
                .run_shell(command, &cwd, &self.spec.env, log, remaining)
                .map_err(|f| TaskError {
                    // Each command gets what is left of the task's limit: name the limit itself.
                    message: match self.spec.timeout {
                        Some(limit) if f.timed_out => {
                            format!("timed out after {}", humantime::format_duration(limit))
                        }
                        _ => f.message,
                    },
                    exit_code: f.exit_code,
                    environment: false,
                    source: None,
                })?;
            if cx.procs.is_interrupted() {
                return Err(TaskError::new("interrupted"));
            }
        }
        let produced = files::expand(cx.root(), &self.spec.outputs);
        if let Some(missing) = produced.missing.first() {
            return Err(TaskError::new(format!(
                "the commands succeeded but did not create the declared output {missing}"
            )));
        }
        let outputs = files::hash_all(cx.root(), &produced.files, cx.cache)
            .map_err(|e| TaskError::new(format!("cannot hash an output: {e}")))?;
        Ok(Produced {
            outputs,
            extra: BTreeMap::new(),
        })
    }
}
