//! `images-build` subtasks: one Docker build per image variant through the engine API, with the
//! parent's content tag as `BASE_IMAGE`/`BASE_TAG`. Up to date when the identity is already in
//! the local engine or published; an image already built only gets the new human tag. Forced
//! (`-B`) builds run for real without the builder cache, as do `--no-cache` runs and scheduled
//! rebuilds (`rebuild-every`); a parent's rebuild is judged by its content (`restat`).
use super::build_record::{BuildLayer, BuildRecord, BuildStepRecord};
use super::hand_off;
use super::restat::{self, IDENTITY, OWN_IDENTITY, PERIOD};
use super::runtime::Runtime;
use crate::exec::step::{Step, StepPhase};
use crate::exec::work::{Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{reason, DirtyReason, Fingerprint};
use dorun_docker::{BuildEvent, BuildRequest, ImageRef};
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

pub(crate) struct BuildWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

/// Prefix of the setting holding the parent's content tag.
const PARENT: &str = "parent image ";
/// Prefix of the settings holding each external base image's digest.
const BASE: &str = "base image ";

impl Work for BuildWork {
    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let rt = &self.rt;
        let facts = rt.facts(self.variant)?;
        let mut fp = Fingerprint {
            kind: "images-build".into(),
            inputs: facts.identity.inputs.clone(),
            ..Default::default()
        };
        for (k, v) in &facts.identity.build_args {
            fp.settings.insert(format!("build-arg {k}"), v.clone());
        }
        if let Some(p) = rt.variant(self.variant).parent {
            let key = &rt.variant(p).key;
            fp.settings.insert(
                format!("{PARENT}{key}"),
                rt.facts(p)?.content.tag().to_string(),
            );
            if let Some(content) = restat::parent_content(rt, self.variant)? {
                fp.settings
                    .insert(format!("{}{key}", restat::PARENT_CONTENT), content);
            }
        }
        for base in &facts.identity.bases {
            fp.settings
                .insert(format!("{BASE}{}", base.reference), base.digest.clone());
        }
        if let Some(period) = rt.period {
            fp.settings.insert(PERIOD.into(), period.to_string());
        }
        fp.settings.insert(
            OWN_IDENTITY.into(),
            blake3::Hash::from(facts.identity.own).to_hex().to_string(),
        );
        fp.settings
            .insert(IDENTITY.into(), facts.content.tag().to_string());
        Ok(fp)
    }

    fn uses_dependency_results(&self) -> bool {
        false
    }

    fn decide(&self, cx: &TaskCx, force: bool) -> Result<Decision, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let fp = self.fingerprint(cx)?;
        let facts = rt.facts(v)?;
        if force {
            return Ok(Decision::stale(fp, vec![DirtyReason::Forced]));
        }
        let record = cx.state.load(cx.name);
        if let Some(image) = rt.local_image(&facts.content)? {
            let human = rt.human(v);
            let rebuilt_parent = record
                .as_ref()
                .and_then(|r| restat::parent_rebuilt(rt, v, &r.fingerprint, &fp));
            let mut reasons = if let Some(changed) = rebuilt_parent {
                vec![changed]
            } else if rt.local_image(human)?.as_deref() == Some(image.as_str()) {
                Vec::new()
            } else {
                vec![DirtyReason::TagMissing {
                    reference: human.clone(),
                }]
            };
            // Built here before, but maybe not handed off: `execute` then only hands it off.
            reasons.extend(hand_off::missing(rt, v)?);
            return Ok(Decision::stale(fp, reasons));
        }
        if rt.is_published(v)? || hand_off::is_handed_off(rt, v)? {
            return Ok(Decision::up_to_date(fp));
        }
        let Some(record) = record else {
            let content = facts.content.clone();
            return Ok(Decision::stale(
                fp,
                vec![DirtyReason::ImageMissing { content }],
            ));
        };
        let every = rt.spec.rebuild_every.as_ref().map(|e| e.written.as_str());
        let mut reasons = explain(&record.fingerprint, &fp, every);
        if reasons.is_empty() {
            let content = facts.content.clone();
            reasons.push(DirtyReason::ImageMissing { content });
        }
        reasons.extend(restat::reusable(rt, v, &record.fingerprint, &fp)?);
        Ok(Decision::stale(fp, reasons))
    }

    fn execute(
        &self,
        cx: &TaskCx,
        decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let facts = rt.facts(v)?;
        let content_ref = &facts.content;
        let human_ref = rt.human(v);
        let engine = rt.engine()?;
        let mut produced = Produced::default();
        produced
            .extra
            .insert("reference".into(), human_ref.to_string());
        produced
            .extra
            .insert("content-tag".into(), content_ref.to_string());
        let mut forced = false;
        let mut parent_rebuilt = false;
        let mut new_period = false;
        for reason in &decision.reasons {
            match reason {
                DirtyReason::Forced => forced = true,
                DirtyReason::ParentContentChanged { .. } => parent_rebuilt = true,
                DirtyReason::NewPeriod { .. } => new_period = true,
                DirtyReason::ParentContentSame { previous, .. } => {
                    let image_id = reuse(rt, v, previous, log)?;
                    produced.extra.insert("image-id".into(), image_id);
                    return Ok(produced);
                }
                _ => {}
            }
        }
        let built = match forced || parent_rebuilt {
            true => None,
            false => rt.local_image_confirmed(content_ref)?,
        };
        if let Some(image_id) = built {
            let _ = writeln!(
                log,
                "{content_ref} is already built ({image_id}); tagging {human_ref}"
            );
            rt.local_changed(&[human_ref]);
            engine
                .tag_reference(&content_ref.to_string(), &human_ref.to_string())
                .map_err(TaskError::from)?;
            rt.local_made(&[human_ref], &image_id);
            hand_off::after_build(rt, v, log)?;
            produced.extra.insert("image-id".into(), image_id);
            rt.ledger.built(rt, v)?;
            return Ok(produced);
        }
        let variant = rt.variant(v);
        let image = rt.spec.image(&variant.image);
        let mut build_args = facts.identity.build_args.clone();
        if let Some(p) = variant.parent {
            // Built by an earlier job on another machine: fetched from its hand-off.
            hand_off::ensure_local(rt, p, log)?;
            let parent = &rt.facts(p)?.content;
            build_args.insert("BASE_IMAGE".into(), parent.to_string());
            build_args.insert("BASE_TAG".into(), parent.tag().to_string());
        }
        // Only the engine's owner labels (`dorun`, `dorun.project`): the identity is already in
        // the content tag. The context is the listing the identity was computed over: what is
        // sent is exactly what was hashed.
        let request = BuildRequest {
            context_dir: rt.root.join(&rt.spec.images_dir).join(&image.name),
            dockerfile: rt.spec.dockerfile_of(variant).to_string(),
            tags: vec![content_ref.to_string(), human_ref.to_string()],
            build_args,
            labels: Default::default(),
            context: Some(facts.identity.context.clone()),
            builder: rt.spec.builder,
            secrets: rt
                .secrets()
                .map_err(|e| TaskError::new(e.to_string()))?
                .to_vec(),
            target: rt.spec.target_of(variant).map(str::to_string),
            cache_from: registry_cache_sources(rt, v),
            inline_cache: uses_registry_cache(rt),
            registry_auth: registry_auth(rt)?,
            dockerfile_text: None,
            // A forced or scheduled rebuild exists to make a new image: no step may come
            // from the cache, or the build would hand back the image it replaces.
            no_cache: forced || new_period || rt.no_cache(),
        };
        // The bases at the digests the identity holds; `--pull` moves their tags too.
        let dockerfile_text = super::bases::prepare_build(rt, v, &facts.identity.bases, log)?;
        let request = BuildRequest {
            dockerfile_text,
            ..request
        };
        let _ = writeln!(log, "building {content_ref} and {human_ref}");
        let mut on_event = |event: BuildEvent| match event {
            BuildEvent::Step { n, m, text } => {
                (cx.on_step)(Step::started(n as usize, m as usize, &text));
            }
            BuildEvent::StepFinished {
                n,
                m,
                text,
                cached,
                seconds,
            } => (cx.on_step)(Step {
                n: n as usize,
                m: m as usize,
                text,
                phase: StepPhase::Finished { cached, seconds },
            }),
            BuildEvent::Line(line) => {
                let _ = writeln!(log, "{line}");
            }
        };
        rt.local_changed(&[content_ref, human_ref]);
        let outcome = engine
            .build(&request, &mut on_event)
            .map_err(TaskError::from)?;
        rt.local_made(&[content_ref, human_ref], &outcome.image_id);
        write_build_record(rt, v, content_ref, human_ref, &outcome)?;
        hand_off::after_build(rt, v, log)?;
        produced
            .extra
            .insert("image-id".into(), outcome.image_id.clone());
        rt.ledger.built(rt, v)?;
        Ok(produced)
    }
}

/// Restat: `previous`, built on the same parent content from the same own identity, takes
/// this identity's content tag and the commit's tag instead of a build; its build record, if
/// it is the latest, is carried over. Returns the image id.
fn reuse(rt: &Runtime, v: usize, previous: &ImageRef, log: &mut File) -> Result<String, TaskError> {
    let content_ref = &rt.facts(v)?.content;
    let human_ref = rt.human(v);
    let engine = rt.engine()?;
    let image_id = rt
        .local_image(previous)?
        .ok_or_else(|| TaskError::new(format!("{previous} is no longer in the local engine")))?;
    let _ = writeln!(
        log,
        "the parent's image has the same layers as when {previous} was built ({image_id}): \
         tagging it {content_ref} and {human_ref}"
    );
    rt.local_changed(&[content_ref, human_ref]);
    for reference in [content_ref, human_ref] {
        engine
            .tag_reference(&image_id, &reference.to_string())
            .map_err(TaskError::from)?;
    }
    rt.local_made(&[content_ref, human_ref], &image_id);
    if let Some(mut record) = BuildRecord::read_for(rt, v, &previous.to_string()) {
        record.content_reference = content_ref.to_string();
        record.reference = human_ref.to_string();
        record.write(rt, v)?;
    }
    hand_off::after_build(rt, v, log)?;
    rt.ledger.built(rt, v)?;
    Ok(image_id)
}

/// With a registry and BuildKit, every image carries its cache metadata inline, so a build
/// elsewhere (a fresh CI runner) can reuse its layers from the registry (SPEC §4).
fn uses_registry_cache(rt: &Runtime) -> bool {
    rt.spec.registry.is_some() && rt.spec.builder == dorun_docker::Builder::BuildKit
}

/// Where a build of variant `v` may take cached layers from besides the engine's own cache:
/// the stable tag `push` moved last for this image and plan. Neither changes the identity.
fn registry_cache_sources(rt: &Runtime, v: usize) -> Vec<String> {
    if uses_registry_cache(rt) {
        vec![rt.stable(v).to_string()]
    } else {
        Vec::new()
    }
}

/// The run's registry credentials, for the builder's pulls from the stack's registry.
fn registry_auth(rt: &Runtime) -> Result<Option<(String, dorun_docker::Credentials)>, TaskError> {
    Ok(match (&rt.spec.registry, rt.credentials()?) {
        (Some(host), Some(creds)) => Some((host.clone(), creds.clone())),
        _ => None,
    })
}

/// Why the build must run, against its last record: the fields that changed, with the parent's
/// and the identity's old and new content tags. The identity sums up the other fields, so it
/// is named only when none of them changed.
fn explain(old: &Fingerprint, new: &Fingerprint, every: Option<&str>) -> Vec<DirtyReason> {
    let value = |fp: &Fingerprint, key: &str| fp.settings.get(key).cloned();
    let mut identity = None;
    let mut reasons = Vec::new();
    for reason in reason::explain(old, new) {
        match reason {
            // Restat's own fields: judged by `restat`, summed up by the parent's content tag.
            DirtyReason::SettingChanged(key)
                if key == OWN_IDENTITY || key.starts_with(restat::PARENT_CONTENT) => {}
            DirtyReason::SettingChanged(key) if key == PERIOD => {
                if let Some(new_period) = value(new, &key) {
                    reasons.push(DirtyReason::NewPeriod {
                        every: every.unwrap_or_default().to_string(),
                        old: value(old, &key),
                        new: new_period,
                    });
                }
            }
            DirtyReason::SettingChanged(key) if key == IDENTITY => {
                identity = Some(DirtyReason::IdentityChanged {
                    old: value(old, &key).unwrap_or_default(),
                    new: value(new, &key).unwrap_or_default(),
                });
            }
            DirtyReason::SettingChanged(key) if key.starts_with(PARENT) => {
                reasons.push(DirtyReason::ParentChanged {
                    parent: key[PARENT.len()..].to_string(),
                    old: value(old, &key),
                    new: value(new, &key),
                });
            }
            DirtyReason::SettingChanged(key) if key.starts_with(BASE) => {
                reasons.push(DirtyReason::BaseChanged {
                    reference: key[BASE.len()..].to_string(),
                    old: value(old, &key),
                    new: value(new, &key),
                });
            }
            other => reasons.push(other),
        }
    }
    if reasons.is_empty() {
        reasons.extend(identity);
    }
    reasons
}

/// `artifacts/build/<name>[@plan].json`: layers, sizes, ids and build time.
fn write_build_record(
    rt: &Runtime,
    v: usize,
    content_ref: &ImageRef,
    human_ref: &ImageRef,
    outcome: &dorun_docker::BuildOutcome,
) -> Result<(), TaskError> {
    let variant = rt.variant(v);
    BuildRecord {
        image: variant.image.clone(),
        plan: variant.plan.clone(),
        reference: human_ref.to_string(),
        content_reference: content_ref.to_string(),
        image_id: outcome.image_id.clone(),
        size: outcome.size,
        build_seconds: (outcome.seconds * 1000.0).round() / 1000.0,
        built_at: crate::exec::work::now_unix(),
        git_commit: rt.git.hash.clone(),
        layers: outcome
            .layers
            .iter()
            .map(|l| BuildLayer {
                created_by: l.created_by.clone(),
                size: l.size,
                created: l.created,
                id: l.id.clone(),
            })
            .collect(),
        steps: outcome.steps.iter().map(BuildStepRecord::from).collect(),
    }
    .write(rt, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(settings: &[(&str, &str)], inputs: &[(&str, u8)]) -> Fingerprint {
        Fingerprint {
            kind: "images-build".into(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            inputs: inputs
                .iter()
                .map(|(p, h)| (p.to_string(), [*h; 32]))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_changed_file_explains_the_new_identity() {
        let old = fp(&[(IDENTITY, "t-id-a1")], &[("images/web/x", 1)]);
        let new = fp(&[(IDENTITY, "t-id-c3")], &[("images/web/x", 2)]);
        assert_eq!(
            explain(&old, &new, None),
            [DirtyReason::InputChanged("images/web/x".into())]
        );
    }

    #[test]
    fn the_identity_is_named_when_nothing_else_changed() {
        // A mode bit or the Dockerfile's name: in the identity, not in another field.
        let old = fp(&[(IDENTITY, "t-id-a1")], &[("images/web/x", 1)]);
        let new = fp(&[(IDENTITY, "t-id-c3")], &[("images/web/x", 1)]);
        let reasons = explain(&old, &new, None);
        assert_eq!(
            reasons,
            [DirtyReason::IdentityChanged {
                old: "t-id-a1".into(),
                new: "t-id-c3".into()
            }]
        );
        assert_eq!(reasons[0].to_string(), "identity t-id-a1 → t-id-c3");
        assert!(explain(&new, &new, None).is_empty());
    }

    #[test]
    fn a_new_period_names_the_schedule_and_restat_fields_stay_silent() {
        let old = fp(
            &[(PERIOD, "10"), (OWN_IDENTITY, "a"), (IDENTITY, "t-id-a1")],
            &[],
        );
        let new = fp(
            &[(PERIOD, "11"), (OWN_IDENTITY, "b"), (IDENTITY, "t-id-c3")],
            &[],
        );
        assert_eq!(
            explain(&old, &new, Some("7d"))
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["scheduled rebuild: a new period of rebuild-every = 7d began (period 10 → 11)"]
        );
    }

    #[test]
    fn a_moved_base_names_its_reference_and_both_digests() {
        let key = format!("{BASE}r:5000/upstream/base:12");
        let old = fp(&[(&key, "sha256:1a2b"), (IDENTITY, "t-id-01")], &[]);
        let new = fp(&[(&key, "sha256:3c4d"), (IDENTITY, "t-id-02")], &[]);
        assert_eq!(
            explain(&old, &new, None)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["base image r:5000/upstream/base:12 changed digest sha256:1a2b→sha256:3c4d"]
        );
    }

    #[test]
    fn a_new_parent_carries_its_old_and_new_content_tags() {
        let key = format!("{PARENT}base");
        let old = fp(&[(&key, "t-id-a1"), (IDENTITY, "t-id-01")], &[]);
        let new = fp(&[(&key, "t-id-c3"), (IDENTITY, "t-id-02")], &[]);
        assert_eq!(
            explain(&old, &new, None)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["parent image base changed (t-id-a1 → t-id-c3)"]
        );
    }
}
