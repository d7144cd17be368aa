//! `images-manifest` subtasks (SPEC §6): for each built image, gathers build info and layers from
//! the engine and runs the image's manifest commands in throwaway containers, then writes
//! `manifests/<name>-<tag>.md` and STACK.md. Up to date when the image is already published
//! (its page was written where it was built) or when the page of this identity, tag and set of
//! commands exists.
pub(crate) mod format;
pub(crate) mod model;
pub(crate) mod record;
pub(crate) mod render;

use super::published::published_or_standard;
use super::runtime::Runtime;
use crate::exec::work::{Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint, RecordSummary};
use crate::stack::build_record::BuildRecord;
use dorun_docker::{Limits, RunSpec};
use model::{LayerRow, ManifestRecord, Section};
use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// A manifest command that runs longer is killed and shown as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// Output kept per stream: a page is for reading, the log has nothing more either.
const MAX_OUTPUT: usize = 64 * 1024;

pub(crate) struct ManifestWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

impl Work for ManifestWork {
    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let mut fp = Fingerprint {
            kind: "images-manifest".into(),
            ..Default::default()
        };
        fp.settings
            .insert("identity".into(), rt.facts(v)?.content.to_string());
        fp.settings
            .insert("reference".into(), rt.human(v).to_string());
        for name in &rt.spec.image(&rt.variant(v).image).manifests {
            let m = &rt.spec.manifests[name];
            fp.settings.insert(
                format!("manifest {name}"),
                format!("{}\n{}", m.description, m.command),
            );
        }
        Ok(fp)
    }

    fn uses_dependency_results(&self) -> bool {
        false
    }

    /// The page and the record it is rendered from must both still exist.
    fn stale_reasons(&self, _cx: &TaskCx, _record: &RecordSummary) -> Vec<DirtyReason> {
        let rt = &self.rt;
        let page = record::manifests_dir(rt).join(record::file_name(rt, self.variant));
        let mut reasons = Vec::new();
        if !page.exists() {
            reasons.push(DirtyReason::OutputMissing(rel(rt, &page)));
        }
        if record::read(rt, self.variant).is_none() {
            let key = &rt.variant(self.variant).key;
            reasons.push(DirtyReason::OutputMissing(format!(
                "{}/manifest/{key}.json",
                rt.artifacts_dir.display()
            )));
        }
        reasons
    }

    fn decide(&self, cx: &TaskCx, force: bool) -> Result<Decision, TaskError> {
        published_or_standard(self, &self.rt, self.variant, cx, force)
    }

    fn execute(
        &self,
        _cx: &TaskCx,
        _decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let variant = rt.variant(v);
        let facts = rt.facts(v)?;
        let content_ref = facts.content.to_string();
        let engine = rt.engine()?;
        let docker = TaskError::from;
        crate::stack::hand_off::ensure_local(rt, v, log)?;
        let config = engine.image_config(&content_ref).map_err(|e| match e {
            dorun_docker::DockerError::ImageNotFound { .. } => TaskError::new(format!(
                "{content_ref} is not in the local engine: run `dorun build:{}` first",
                variant.key
            )),
            e => docker(e),
        })?;
        let history = engine.history(&content_ref).map_err(docker)?;
        let _ = writeln!(
            log,
            "{content_ref}: image {} ({} bytes)",
            config.id, config.size
        );

        let build = BuildRecord::read_for(rt, v, &content_ref);
        let newest_layer = history.first().map(|l| l.created.max(0) as u64);
        let mut rec = ManifestRecord {
            key: variant.key.clone(),
            image: variant.image.clone(),
            plan: variant.plan.clone(),
            reference: rt.human(v).to_string(),
            content_reference: content_ref.clone(),
            parent: match variant.parent {
                Some(p) => Some(rt.facts(p)?.content.to_string()),
                None => None,
            },
            image_id: config.id.clone(),
            size: config.size,
            git_commit: rt.git.hash.clone(),
            git_message: rt.git.message.clone(),
            built_at: build
                .as_ref()
                .map(|b| b.built_at)
                .or(newest_layer)
                .unwrap_or(0),
            build_seconds: build.as_ref().map(|b| b.build_seconds),
            layers: history
                .iter()
                .rev()
                .map(|l| LayerRow {
                    created_by: l.created_by.clone(),
                    size: l.size,
                    created: l.created,
                })
                .collect(),
            sections: Vec::new(),
            file: record::file_name(rt, v),
        };
        for name in &rt.spec.image(&variant.image).manifests {
            let m = &rt.spec.manifests[name];
            let _ = writeln!(log, "--- manifest {name}: {}", m.command);
            let section =
                run_command(&engine, &content_ref, name, m, &variant.key).map_err(docker)?;
            let _ = writeln!(
                log,
                "{}{}exit {}{}",
                section.stdout,
                section.stderr,
                section.exit_code,
                if section.timed_out {
                    " (timed out)"
                } else {
                    ""
                }
            );
            rec.sections.push(section);
        }
        record::save(rt, v, &rec)?;
        let _ = writeln!(log, "wrote {}/{}", rt.manifests_dir.display(), rec.file);
        let mut produced = Produced::default();
        produced.extra.insert("manifest".into(), rec.file);
        Ok(produced)
    }
}

/// Runs one manifest command in a throwaway container. Its failure is the page's business (shown
/// as failed, with its output), not the task's; only an engine failure is an error.
fn run_command(
    engine: &dorun_docker::Engine,
    image: &str,
    name: &str,
    m: &crate::config::stack_model::ManifestCommand,
    key: &str,
) -> dorun_docker::Result<Section> {
    let mut spec = RunSpec::new(image, vec!["sh".into(), "-c".into(), m.command.clone()]);
    // The command is the whole story: an image's ENTRYPOINT must not wrap it.
    spec.entrypoint = Some(Vec::new());
    spec.timeout = COMMAND_TIMEOUT;
    // A description of the image should not depend on the network.
    spec.limits = Limits {
        network: Some("none".into()),
        ..Default::default()
    };
    spec.labels
        .insert("dorun.manifest".into(), format!("{key} {name}"));
    let result = engine.run(&spec)?;
    Ok(Section {
        name: name.to_string(),
        description: m.description.clone(),
        command: m.command.clone(),
        exit_code: result.exit_code,
        timed_out: result.timed_out,
        stdout: clip(result.stdout),
        stderr: clip(result.stderr),
    })
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n… (output cut at 64 KiB)\n");
    }
    s
}

fn rel(rt: &Runtime, path: &std::path::Path) -> String {
    path.strip_prefix(&rt.root)
        .unwrap_or(path)
        .display()
        .to_string()
}
