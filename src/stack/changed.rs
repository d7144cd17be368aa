//! `images-changed`: asks the registry (or, without one, the local engine) whether each
//! variant's content tag exists, and writes IMAGES_CHANGED and the GIT_* files. It runs every
//! time: the registry is the truth, and asking it is cheap.
use super::artifacts;
use super::runtime::Runtime;
use crate::exec::work::{Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::{DirtyReason, Fingerprint};
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

pub(crate) struct ChangedWork {
    pub rt: Arc<Runtime>,
}

impl Work for ChangedWork {
    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        Ok(self.rt.registry_fingerprint("images-changed"))
    }

    fn uses_dependency_results(&self) -> bool {
        false
    }

    fn decide(&self, cx: &TaskCx, _force: bool) -> Result<Decision, TaskError> {
        Ok(Decision::stale(
            self.fingerprint(cx)?,
            vec![DirtyReason::AsksEveryRun {
                registry: self.rt.spec.registry.clone(),
            }],
        ))
    }

    fn execute(
        &self,
        _cx: &TaskCx,
        _decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        // Every image at once (a run whose shell tasks came first has not asked yet): the
        // changed set below would otherwise ask the registry one image after another, and the
        // engine's listing would wait for it instead of being taken meanwhile.
        let all: Vec<usize> = (0..rt.spec.variants.len()).collect();
        rt.look_up_all(&all, &[])?;
        artifacts::remember_changed(rt)?;
        let changed = rt.ledger.view(rt, |book| book.changed())?;
        let is_changed: std::collections::HashSet<usize> = changed.iter().copied().collect();
        // One write for the whole log: a formatted line to the file was several writes each.
        let mut text = String::new();
        for (v, variant) in rt.spec.variants.iter().enumerate() {
            let facts = rt.facts(v)?;
            let state = if is_changed.contains(&v) {
                "changed"
            } else {
                "published"
            };
            let _ = writeln!(text, "{:<24} {state:<9} {}", variant.key, facts.content);
        }
        let _ = log.write_all(text.as_bytes());
        let names: Vec<String> = changed.iter().map(|&v| rt.variant(v).key.clone()).collect();
        // Every list derives from the changed set: all are rewritten now, so that a run in
        // which every later subtask is up to date does not leave lists from an earlier pipeline.
        rt.ledger.write_lists(rt)?;
        artifacts::write_git(rt)?;
        let mut produced = Produced::default();
        produced.extra.insert("changed".into(), names.join(" "));
        Ok(produced)
    }
}
