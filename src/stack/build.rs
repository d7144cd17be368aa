//! `images-build` subtasks: one Docker build per image variant through the engine API, with the
//! parent's content tag as `BASE_IMAGE`/`BASE_TAG`. Up to date when the identity is already in
//! the local engine or published; an image already built only gets the new human tag. Forced
//! (`-B`) builds run for real without the builder cache, as do `--no-cache` runs and scheduled
//! rebuilds (`rebuild-every`); a parent's rebuild is judged by its content (`restat`).
use super::build_fingerprint;
use super::build_record::{BuildLayer, BuildRecord, BuildStepRecord};
use super::hand_off;
use super::restat;
use super::runtime::Runtime;
use crate::exec::step::{Step, StepPhase};
use crate::exec::work::{Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint};
use dorun_docker::{BuildEvent, BuildRequest, ImageRef};
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

pub(crate) struct BuildWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

impl Work for BuildWork {
    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        build_fingerprint::of(&self.rt, self.variant)
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
        if let Some(image) = rt.local_image(&facts.content)? {
            let human = rt.human(v);
            // A record of this very fingerprint cannot tell of a parent rebuilt since (its
            // parent's content is the one recorded): only another record is read whole.
            let as_recorded = (cx.state.load_summary(cx.name))
                .is_some_and(|summary| summary.fingerprint_digest == fp.digest());
            let rebuilt_parent = match as_recorded {
                true => None,
                false => (cx.state.load(cx.name))
                    .and_then(|r| restat::parent_rebuilt(rt, v, &r.fingerprint, &fp)),
            };
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
        let Some(record) = cx.state.load(cx.name) else {
            let content = facts.content.clone();
            return Ok(Decision::stale(
                fp,
                vec![DirtyReason::ImageMissing { content }],
            ));
        };
        let every = rt.spec.rebuild_every.as_ref().map(|e| e.written.as_str());
        let mut reasons = build_fingerprint::explain(&record.fingerprint, &fp, every);
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
