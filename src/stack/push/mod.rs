//! `images-push` subtasks (SPEC §4, §6): push the content tag and the human tag, then move the
//! stable tag to the pushed image; gated on every built image having passed its tests. An
//! identity the registry already holds (published by an earlier commit or runner) gets its tags
//! registry-side, by manifest copy, with no pull and no build, so every runner tags every image
//! of the commit. With `hand-off = "registry"` a push is a promotion: the staged manifest copied
//! registry-side. The registry is the truth for "up to date": the identity is there under all
//! three tags.
pub(crate) mod gate;
pub(crate) mod record;

use super::hand_off;
use super::runtime::Runtime;
use crate::exec::work::{now_unix, Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint};
use dorun_docker::{DockerError, ImageRef};
use gate as push_gate;
use record::{PushRecord, PushedTag};
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

pub(crate) struct PushWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

/// The three references one push sends, in order.
struct Refs {
    content: ImageRef,
    human: ImageRef,
    stable: ImageRef,
}

pub(crate) fn no_registry() -> TaskError {
    TaskError::new(
        "no registry configured: set `registry` in [stack] or DORUN_REGISTRY to push \
         (without one, images live in the local engine only)",
    )
}

/// A registry that does not complete a push fails the push (exit 1), also when it stopped
/// answering: IMAGES_PUSHED then lists what it accepted, and a resumed run completes it
/// (README, "Exit 3 or 1 when the engine or registry goes away").
fn push_failure(e: DockerError) -> TaskError {
    TaskError {
        environment: false,
        ..TaskError::from(e)
    }
}

/// A registry lost once the run started fails the push (exit 1), whichever question found it
/// gone first; only the check before any task is exit 3 (SPEC §2). (The decision's questions
/// are answered from the run's one look at the registry, so the push itself may be first.)
fn lost_mid_run(e: TaskError) -> TaskError {
    TaskError {
        environment: false,
        ..e
    }
}

/// How the log names who pushes: the user, never the password.
fn as_who(creds: Option<&dorun_docker::Credentials>) -> String {
    match creds {
        Some(c) => format!("as user `{}`", c.username),
        None => "without credentials".into(),
    }
}

impl Refs {
    /// The tags a push writes, in order: content, human, then stable (once each).
    fn in_push_order(&self) -> Vec<&ImageRef> {
        let mut order = vec![&self.content, &self.human, &self.stable];
        order.dedup();
        order
    }

    /// The record of a push of `image_id` to `registry` that has written no tag yet.
    fn record(&self, registry: String, image_id: String) -> PushRecord {
        PushRecord {
            registry,
            reference: self.human.to_string(),
            content_reference: self.content.to_string(),
            image_id,
            tags: Vec::new(),
            pushed_at: now_unix(),
        }
    }
}

impl PushWork {
    fn refs(&self) -> Result<Refs, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        Ok(Refs {
            content: rt.facts(v)?.content.clone(),
            human: rt.human(v).clone(),
            stable: rt.stable(v).clone(),
        })
    }

    /// This variant's record, then (by the ledger) IMAGES_PUSHED and the manifests that show
    /// digests, so every file agrees with what the registry accepted so far.
    fn save(&self, record: &PushRecord) -> Result<(), TaskError> {
        let rt = &self.rt;
        record::write(rt, self.variant, record)?;
        rt.ledger.pushed(rt, self.variant, record.clone())
    }
}

impl Work for PushWork {
    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let refs = self.refs()?;
        let mut fp = self.rt.registry_fingerprint("images-push");
        fp.settings
            .insert("content tag".into(), refs.content.to_string());
        fp.settings
            .insert("human tag".into(), refs.human.to_string());
        fp.settings
            .insert("stable tag".into(), refs.stable.to_string());
        Ok(fp)
    }

    fn uses_dependency_results(&self) -> bool {
        false
    }

    fn decide(&self, cx: &TaskCx, force: bool) -> Result<Decision, TaskError> {
        let fp = self.fingerprint(cx)?;
        let Some(registry) = self.rt.registry()? else {
            return Ok(Decision::stale(fp, vec![DirtyReason::NoRegistry]));
        };
        if force {
            return Ok(Decision::stale(fp, vec![DirtyReason::Forced]));
        }
        let refs = self.refs()?;
        // From the run's answers (asked for every push at once), else asked now.
        let digest_of = |reference: &ImageRef| {
            self.rt
                .tag_digest(registry, reference)
                .map_err(push_failure)
        };
        let moving_tag_digest_of = |reference: &ImageRef| {
            self.rt
                .moving_tag_digest(registry, reference)
                .map_err(push_failure)
        };
        let Some(digest) = digest_of(&refs.content)? else {
            let reference = refs.content.clone();
            return Ok(Decision::stale(
                fp,
                vec![DirtyReason::NotInRegistry { reference }],
            ));
        };
        let mut reasons = Vec::new();
        for reference in [&refs.human, &refs.stable] {
            match moving_tag_digest_of(reference)? {
                Some(d) if d == digest => {}
                Some(found) => reasons.push(DirtyReason::TagMoved {
                    reference: reference.clone(),
                    found,
                    expected: digest.clone(),
                }),
                None => reasons.push(DirtyReason::NotInRegistry {
                    reference: reference.clone(),
                }),
            }
        }
        // Everything is in the registry, but this pipeline pushed it and was killed before it
        // recorded every tag: push again (the registry has the blobs, so this is cheap) so that
        // IMAGES_PUSHED ends as after one uninterrupted run.
        if reasons.is_empty() && !self.rt.is_published(self.variant)? {
            let record = record::read_current(&self.rt, self.variant);
            let recorded = |reference: &ImageRef| {
                let reference = reference.to_string();
                record
                    .as_ref()
                    .is_some_and(|r| r.tags.iter().any(|t| t.reference == reference))
            };
            if let Some(missing) = [&refs.content, &refs.human, &refs.stable]
                .into_iter()
                .find(|r| !recorded(r))
            {
                reasons.push(DirtyReason::PushNotRecorded {
                    reference: missing.clone(),
                });
            }
        }
        // The content tag is in the registry: whether this runner holds the image or not (a
        // fresh runner on a later commit), the missing tags are copied registry-side.
        Ok(Decision::stale(fp, reasons))
    }

    fn execute(
        &self,
        _cx: &TaskCx,
        _decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let Some(registry) = rt.spec.registry.clone() else {
            return Err(no_registry());
        };
        // Drop what no longer describes the current identities before anything else, so a
        // refused or failing push leaves an IMAGES_PUSHED that is true for this pipeline.
        rt.ledger.rewrite_pushed(rt)?;
        push_gate::check(rt)?;
        let refs = self.refs()?;
        rt.registry_moved(&refs.in_push_order());
        if hand_off::promotes(rt) {
            return self.promote(&refs, registry, log);
        }
        // Published already (this identity's content tag is in the registry): the tags are
        // given by manifest copy, so the digest stays the published one and nothing is pulled.
        let release = refs.content.repository.clone();
        let published = rt
            .ask_registry(|r| r.manifest(&release, refs.content.tag()))
            .map_err(lost_mid_run)?;
        if let Some(manifest) = published {
            return self.copy_in_registry(&refs, &manifest, &release, registry, "retagging", log);
        }
        // Maybe remembered as published (`published-memory`) but deleted since: ask next time.
        rt.content_gone(&refs.content);
        let engine = rt.engine()?;
        let Some(image_id) = self.rt.local_image(&refs.content)? else {
            return Err(TaskError::new(format!(
                "{} is not in the local engine: run `dorun build:{}` first",
                refs.content,
                rt.variant(v).key
            )));
        };
        // The password goes into the push request only: never into a message, log or file.
        let creds = rt.credentials()?;
        let _ = writeln!(log, "pushing {image_id} to {registry} {}", as_who(creds));
        let mut record = refs.record(registry, image_id);
        // The manifest the engine pushed under the content tag, put under the other tags.
        let mut pushed: Option<dorun_docker::Manifest> = None;
        for image_ref in refs.in_push_order() {
            let reference = image_ref.to_string();
            // The build gave the content and human tags; make sure of them, and move the stable
            // tag only now that the image itself is in the registry.
            if reference != record.content_reference {
                engine
                    .tag_reference(&record.content_reference, &reference)
                    .map_err(push_failure)?;
            }
            let digest = match &pushed {
                // The same manifest bytes under another tag of the repository: one request,
                // where a push through the engine asks about every layer again.
                Some(manifest) if image_ref.repository == refs.content.repository => {
                    let client = rt.registry()?.ok_or_else(no_registry)?;
                    client
                        .put_manifest(&image_ref.repository, image_ref.tag(), manifest)
                        .map_err(push_failure)?
                }
                _ => {
                    let _ = writeln!(log, "--- push {reference}");
                    let digest = engine
                        .push_with(&reference, creds, &mut |line| {
                            let _ = writeln!(log, "{line}");
                        })
                        .map_err(push_failure)?;
                    if *image_ref == refs.content {
                        let client = rt.registry()?.ok_or_else(no_registry)?;
                        let content = client
                            .manifest(&refs.content.repository, refs.content.tag())
                            .map_err(push_failure)?;
                        // Only the manifest just pushed, never one another push put since.
                        pushed = content.filter(|m| m.digest == digest);
                    }
                    digest
                }
            };
            let _ = writeln!(log, "pushed {reference}@{digest}");
            if reference == record.content_reference {
                rt.content_published(&refs.content, &digest);
            } else {
                rt.moving_tag_seen(image_ref, Some(&digest));
            }
            record.tags.push(PushedTag { reference, digest });
            record.pushed_at = now_unix();
            self.save(&record)?;
        }
        crate::stack::metrics_beside::after_push(rt, v, log)?;
        Ok(produced(&refs, &record))
    }
}

impl PushWork {
    /// Push as promotion (`hand-off = "registry"`): the staged manifest (or, for an image
    /// published earlier, the release one) copied to the release repository under the content,
    /// human and stable tags — blobs mounted across repositories, the same manifest bytes put,
    /// so the digest is the tested one and no layer passes through this machine.
    fn promote(
        &self,
        refs: &Refs,
        registry: String,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let Some((manifest, from)) = hand_off::promotion_source(rt, v).map_err(lost_mid_run)?
        else {
            return Err(TaskError::new(format!(
                "{} is neither staged nor in the registry: run `dorun build:{}` first",
                refs.content,
                rt.variant(v).key
            )));
        };
        self.copy_in_registry(refs, &manifest, &from, registry, "promoting", log)
    }

    /// `manifest`, read from repository `from`, written under the content, human and stable
    /// tags (blobs mounted when `from` is another repository): the same bytes, so the same
    /// digest, and no layer passes through this machine.
    fn copy_in_registry(
        &self,
        refs: &Refs,
        manifest: &dorun_docker::Manifest,
        from: &str,
        registry: String,
        doing: &str,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        let client = rt.registry()?.ok_or_else(no_registry)?;
        let image_id = manifest.config_digest().map_err(push_failure)?;
        let _ = writeln!(
            log,
            "{doing} {registry}/{from}@{} (image {image_id}) by {}, {}",
            manifest.digest,
            if from == refs.content.repository {
                "manifest copy"
            } else {
                "blob mount"
            },
            as_who(rt.credentials()?)
        );
        let mut record = refs.record(registry, image_id);
        let mut mounted: Vec<&str> = Vec::new();
        for reference in refs.in_push_order() {
            let repo = reference.repository.as_str();
            let digest = if mounted.contains(&repo) {
                client.put_manifest(repo, reference.tag(), manifest)
            } else {
                mounted.push(repo);
                client
                    .copy_manifest(manifest, from, repo, &[reference.tag()])
                    .map(|mut digests| digests.remove(0))
            }
            .map_err(push_failure)?;
            let _ = writeln!(log, "pushed {reference}@{digest}");
            if *reference == refs.content {
                rt.content_published(&refs.content, &digest);
            } else {
                rt.moving_tag_seen(reference, Some(&digest));
            }
            record.tags.push(PushedTag {
                reference: reference.to_string(),
                digest,
            });
            record.pushed_at = now_unix();
            self.save(&record)?;
        }
        crate::stack::metrics_beside::after_push(rt, self.variant, log)?;
        Ok(produced(refs, &record))
    }
}

/// What a push reports in run.json: the human reference and the pushed digest.
fn produced(refs: &Refs, record: &PushRecord) -> Produced {
    let mut produced = Produced::default();
    produced
        .extra
        .insert("reference".into(), refs.human.to_string());
    if let Some(d) = record.digest() {
        produced.extra.insert("digest".into(), d.to_string());
    }
    produced
}
