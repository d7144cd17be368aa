//! The up-to-date rule the image test and manifest tasks share: an identity already published
//! is up to date wherever it was built; otherwise the task's own record decides.
use super::runtime::Runtime;
use crate::exec::work::{standard_decide, Decision, TaskCx, TaskError, Work};

/// Up to date when variant `v`'s identity is already in the registry: it only gets there through
/// `push`, which runs after its tests passed and its page was written. Otherwise (and always when
/// forced) the standard rule. Without a registry "published" only means "in the local engine",
/// which every built image is (a failing one too), so the standard rule decides then.
pub(crate) fn published_or_standard<W: Work>(
    work: &W,
    rt: &Runtime,
    v: usize,
    cx: &TaskCx,
    force: bool,
) -> Result<Decision, TaskError> {
    if !force && rt.spec.registry.is_some() && rt.is_published(v)? {
        return Ok(Decision::up_to_date(work.fingerprint(cx)?));
    }
    standard_decide(work, cx, force)
}
