//! `images-push` subtasks (SPEC §4, §6): push the content tag and the human tag, then move the
//! stable tag to the pushed image; gated on every built image having passed its tests. The
//! registry is the truth for "up to date": the identity is there under all three tags.
pub mod gate;
pub mod record;

use super::runtime::Runtime;
use crate::exec::work::{now_unix, Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint};
use dorun_docker::Credentials;
use gate as push_gate;
use record::{PushRecord, PushedTag};
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

pub struct PushWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

/// The three references one push sends, in order.
struct Refs {
    content: String,
    human: String,
    stable: String,
}

impl Refs {
    fn tag(reference: &str) -> &str {
        reference.rsplit_once(':').map_or(reference, |(_, t)| t)
    }
}

pub fn no_registry() -> TaskError {
    TaskError::new(
        "no registry configured: set `registry` in [stack] or DORUN_REGISTRY to push \
         (without one, images live in the local engine only)",
    )
}

impl PushWork {
    fn refs(&self, cx: &TaskCx) -> Result<Refs, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let id = rt.identity(v, cx.cache)?;
        Ok(Refs {
            content: rt.content_ref(v, &id),
            human: rt.human_ref(v),
            stable: format!(
                "{}:{}",
                rt.repository(v),
                rt.spec.stable_tag_of(rt.variant(v))
            ),
        })
    }

    /// This variant's record, then (by the ledger) IMAGES_PUSHED and the manifests that show
    /// digests, so every file agrees with what the registry accepted so far.
    fn save(&self, cx: &TaskCx, record: &PushRecord) -> Result<(), TaskError> {
        let rt = &self.rt;
        record::write(rt, self.variant, record)?;
        rt.ledger.pushed(rt, cx.cache, self.variant, record.clone())
    }
}

impl Work for PushWork {
    fn fingerprint(&self, cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let refs = self.refs(cx)?;
        let mut fp = Fingerprint {
            kind: "images-push".into(),
            ..Default::default()
        };
        fp.settings
            .insert("registry".into(), self.rt.spec.registry.clone());
        fp.settings.insert("content tag".into(), refs.content);
        fp.settings.insert("human tag".into(), refs.human);
        fp.settings.insert("stable tag".into(), refs.stable);
        Ok(fp)
    }

    fn uses_dependency_results(&self) -> bool {
        false
    }

    fn decide(&self, cx: &TaskCx, force: bool) -> Result<Decision, TaskError> {
        let fp = self.fingerprint(cx)?;
        let Some(registry) = self.rt.registry() else {
            return Ok(Decision::stale(
                fp,
                vec![DirtyReason::Other("no registry configured".into())],
            ));
        };
        if force {
            return Ok(Decision::stale(fp, vec![DirtyReason::Forced]));
        }
        let refs = self.refs(cx)?;
        let repo = self
            .rt
            .spec
            .registry_path(&self.rt.variant(self.variant).image);
        let digest_of = |reference: &str| {
            registry
                .manifest_digest(&repo, Refs::tag(reference))
                .map_err(|e| TaskError::new(e.to_string()))
        };
        let Some(digest) = digest_of(&refs.content)? else {
            let why = format!("{} is not in the registry", refs.content);
            return Ok(Decision::stale(fp, vec![DirtyReason::Other(why)]));
        };
        let mut reasons = Vec::new();
        for reference in [&refs.human, &refs.stable] {
            match digest_of(reference)? {
                Some(d) if d == digest => {}
                Some(_) => reasons.push(DirtyReason::Other(format!(
                    "{reference} points to another image"
                ))),
                None => reasons.push(DirtyReason::Other(format!(
                    "{reference} is not in the registry"
                ))),
            }
        }
        // Everything is in the registry, but this pipeline pushed it and was killed before it
        // recorded every tag: push again (the registry has the blobs, so this is cheap) so that
        // IMAGES_PUSHED ends as after one uninterrupted run.
        if reasons.is_empty() && !self.rt.is_published(self.variant, cx.cache)? {
            let record = record::read_current(&self.rt, self.variant, cx.cache);
            let recorded = |reference: &String| {
                record
                    .as_ref()
                    .is_some_and(|r| r.tags.iter().any(|t| &t.reference == reference))
            };
            if let Some(missing) = [&refs.content, &refs.human, &refs.stable]
                .into_iter()
                .find(|r| !recorded(r))
            {
                reasons.push(DirtyReason::Other(format!(
                    "the push of {missing} was not recorded (an interrupted run)"
                )));
            }
        }
        // The identity is published but this runner does not hold the image (a fresh CI runner
        // on a later commit): there is nothing here to push, and pulling it only to add tags
        // is not this task's job.
        if !reasons.is_empty() && self.rt.local_image(&refs.content)?.is_none() {
            reasons.clear();
        }
        Ok(Decision::stale(fp, reasons))
    }

    fn execute(
        &self,
        cx: &TaskCx,
        _decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        if rt.spec.registry.is_empty() {
            return Err(no_registry());
        }
        // Drop what no longer describes the current identities before anything else, so a
        // refused or failing push leaves an IMAGES_PUSHED that is true for this pipeline.
        rt.ledger.rewrite_pushed(rt, cx.cache)?;
        push_gate::check(rt, cx.cache)?;
        let refs = self.refs(cx)?;
        let engine = rt.engine().map_err(TaskError::environment)?;
        let docker = |e: dorun_docker::DockerError| TaskError::new(e.to_string());
        let Some(image_id) = self.rt.local_image(&refs.content)? else {
            return Err(TaskError::new(format!(
                "{} is not in the local engine: run `dorun build:{}` first",
                refs.content,
                rt.variant(v).key
            )));
        };
        // The password goes into the push request only: never into a message, log or file.
        let creds = Credentials::lookup(&rt.spec.registry).map_err(docker)?;
        let _ = writeln!(
            log,
            "pushing {image_id} to {} {}",
            rt.spec.registry,
            match &creds {
                Some(c) => format!("as user `{}`", c.username),
                None => "without credentials".into(),
            }
        );
        let mut record = PushRecord {
            registry: rt.spec.registry.clone(),
            reference: refs.human.clone(),
            content_reference: refs.content.clone(),
            image_id,
            tags: Vec::new(),
            pushed_at: now_unix(),
        };
        let mut order = vec![
            refs.content.clone(),
            refs.human.clone(),
            refs.stable.clone(),
        ];
        order.dedup();
        for reference in order {
            // The build gave the content and human tags; make sure of them, and move the stable
            // tag only now that the image itself is in the registry.
            if reference != refs.content {
                engine
                    .tag_reference(&refs.content, &reference)
                    .map_err(docker)?;
            }
            let _ = writeln!(log, "--- push {reference}");
            let digest = engine
                .push_with(&reference, creds.as_ref(), &mut |line| {
                    let _ = writeln!(log, "{line}");
                })
                .map_err(docker)?;
            let _ = writeln!(log, "pushed {reference}@{digest}");
            record.tags.push(PushedTag { reference, digest });
            record.pushed_at = now_unix();
            self.save(cx, &record)?;
        }
        let mut produced = Produced::default();
        produced.extra.insert("reference".into(), refs.human);
        if let Some(d) = record.digest() {
            produced.extra.insert("digest".into(), d.to_string());
        }
        Ok(produced)
    }
}
