//! `images-build` subtasks: one Docker build per image variant through the engine API, with the
//! parent's content tag as `BASE_IMAGE`/`BASE_TAG`. Up to date when the identity is already in
//! the local engine or published; an image already built only gets the new human tag.
use super::runtime::Runtime;
use crate::exec::work::{Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{reason, DirtyReason, Fingerprint};
use dorun_docker::{BuildEvent, BuildRequest};
use serde_json::json;
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

pub struct BuildWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

impl BuildWork {}

impl Work for BuildWork {
    fn fingerprint(&self, cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        let id = self.rt.identity(self.variant, cx.cache)?;
        let mut fp = Fingerprint {
            kind: "images-build".into(),
            inputs: id.inputs.clone(),
            ..Default::default()
        };
        for (k, v) in &id.build_args {
            fp.settings.insert(format!("build-arg {k}"), v.clone());
        }
        if let Some(p) = self.rt.variant(self.variant).parent {
            let parent = self.rt.identity(p, cx.cache)?;
            fp.settings.insert(
                format!("parent image {}", self.rt.variant(p).key),
                self.rt.content_tag(p, &parent),
            );
        }
        fp.settings
            .insert("identity".into(), self.rt.content_tag(self.variant, &id));
        Ok(fp)
    }

    fn uses_dependency_results(&self) -> bool {
        false
    }

    fn decide(&self, cx: &TaskCx, force: bool) -> Result<Decision, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let fp = self.fingerprint(cx)?;
        let id = rt.identity(v, cx.cache)?;
        let content_ref = rt.content_ref(v, &id);
        if force {
            return Ok(Decision::stale(fp, vec![DirtyReason::Forced]));
        }
        if let Some(image) = self.rt.local_image(&content_ref)? {
            let human = rt.human_ref(v);
            let reasons = if self.rt.local_image(&human)?.as_deref() == Some(image.as_str()) {
                Vec::new()
            } else {
                vec![DirtyReason::Other(format!(
                    "already built; only the tag {human} is missing"
                ))]
            };
            return Ok(Decision::stale(fp, reasons));
        }
        if rt.is_published(v, cx.cache)? {
            return Ok(Decision::up_to_date(fp));
        }
        let mut reasons = match cx.state.load(cx.name) {
            Some(record) => reason::explain(&record.fingerprint, &fp),
            None => Vec::new(),
        };
        reasons.retain(|r| !matches!(r, DirtyReason::SettingChanged(s) if s == "identity"));
        if reasons.is_empty() {
            reasons.push(DirtyReason::Other(format!(
                "{content_ref} is neither in the registry nor in the local engine"
            )));
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
        let id = rt.identity(v, cx.cache)?;
        let content_ref = rt.content_ref(v, &id);
        let human_ref = rt.human_ref(v);
        let engine = rt.engine().map_err(TaskError::environment)?;
        let mut produced = Produced::default();
        produced.extra.insert("reference".into(), human_ref.clone());
        produced
            .extra
            .insert("content-tag".into(), content_ref.clone());
        if let Some(image_id) = self.rt.local_image(&content_ref)? {
            let _ = writeln!(
                log,
                "{content_ref} is already built ({image_id}); tagging {human_ref}"
            );
            engine
                .tag_reference(&content_ref, &human_ref)
                .map_err(TaskError::from)?;
            produced.extra.insert("image-id".into(), image_id);
            rt.ledger.built(rt, cx.cache, v)?;
            return Ok(produced);
        }
        let variant = rt.variant(v);
        let image = rt.spec.image(&variant.image);
        let mut build_args = id.build_args.clone();
        if let Some(p) = variant.parent {
            let parent = rt.identity(p, cx.cache)?;
            build_args.insert("BASE_IMAGE".into(), rt.content_ref(p, &parent));
            build_args.insert("BASE_TAG".into(), rt.content_tag(p, &parent));
        }
        // No labels: the classic builder turns each into an extra build step, and the identity
        // is already in the content tag.
        let request = BuildRequest {
            context_dir: rt.root.join(&rt.spec.images_dir).join(&image.name),
            dockerfile: image.dockerfile.clone(),
            tags: vec![content_ref.clone(), human_ref.clone()],
            build_args,
            labels: Default::default(),
        };
        let _ = writeln!(log, "building {content_ref} and {human_ref}");
        let mut on_event = |event: BuildEvent| match event {
            BuildEvent::Step { n, m, text } => (cx.on_step)(n as usize, m as usize, &text),
            BuildEvent::Line(line) => {
                let _ = writeln!(log, "{line}");
            }
        };
        let outcome = engine
            .build(&request, &mut on_event)
            .map_err(TaskError::from)?;
        write_build_record(rt, v, &content_ref, &human_ref, &outcome)?;
        produced
            .extra
            .insert("image-id".into(), outcome.image_id.clone());
        rt.ledger.built(rt, cx.cache, v)?;
        Ok(produced)
    }
}

/// `artifacts/build/<name>[@plan].json`: layers, sizes, ids and build time.
fn write_build_record(
    rt: &Runtime,
    v: usize,
    content_ref: &str,
    human_ref: &str,
    outcome: &dorun_docker::BuildOutcome,
) -> Result<(), TaskError> {
    let variant = rt.variant(v);
    let layers: Vec<_> = outcome
        .layers
        .iter()
        .map(|l| json!({"created_by": l.created_by, "size": l.size, "created": l.created, "id": l.id}))
        .collect();
    let record = json!({
        "image": variant.image,
        "plan": variant.plan,
        "reference": human_ref,
        "content_reference": content_ref,
        "image_id": outcome.image_id,
        "size": outcome.size,
        "build_seconds": (outcome.seconds * 1000.0).round() / 1000.0,
        "built_at": crate::exec::work::now_unix(),
        "git_commit": rt.git.hash,
        "layers": layers,
    });
    let path = rt.artifact(&format!("build/{}.json", variant.key));
    let text = serde_json::to_string_pretty(&record).expect("json") + "\n";
    crate::stack::artifacts::write_file(&path, text.as_bytes())
}
