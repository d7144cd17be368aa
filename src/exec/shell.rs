//! Generic shell tasks (doit's task dict): `run` commands with `sh -c`, inputs hashed into the
//! fingerprint, outputs hashed after a success and checked before the next decision.
use super::work::{Produced, TaskCx, TaskError, Work};
use crate::config::ShellSpec;
use crate::fingerprint::{files, DirtyReason, Fingerprint, TaskRecord};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;

pub struct ShellWork {
    pub spec: ShellSpec,
}

impl Work for ShellWork {
    fn fingerprint(&self, cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let expansion = files::expand(cx.root(), &self.spec.inputs);
        let mut inputs = files::hash_all(cx.root(), &expansion.files, cx.cache)
            .map_err(|e| TaskError::new(format!("cannot read an input: {e}")))?;
        // A missing literal input is part of the fingerprint (as a zero hash) so that its
        // appearance later makes the task stale; execute() refuses to run without it.
        for missing in &expansion.missing {
            inputs.push((missing.clone(), [0; 32]));
        }
        inputs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
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

    fn stale_reasons(&self, cx: &TaskCx, record: &TaskRecord) -> Vec<DirtyReason> {
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
        let expansion = files::expand(cx.root(), &self.spec.outputs);
        for missing in expansion.missing {
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

    fn execute(&self, cx: &TaskCx, log: &mut File) -> Result<Produced, TaskError> {
        let expansion = files::expand(cx.root(), &self.spec.inputs);
        if let Some(missing) = expansion.missing.first() {
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
                    message: f.message,
                    exit_code: f.exit_code,
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
