//! The previously published version of an image variant (SPEC §6): what its stable tag names
//! in the release repository, with the numbers stored beside it by the push that published it
//! (`metrics_beside`), else what its manifest tells (layer count, compressed size). Read by
//! `test:X` for the metrics record, so the report and the `size-growth` budget compare without
//! asking anything else.
use crate::exec::work::TaskError;
use crate::stack::metrics_record::{Measured, Previous};
use crate::stack::runtime::Runtime;

/// Variant `v`'s previous version, or None: no registry, nothing under the stable tag yet, or
/// the stable tag names this very image (`image_id`, the config digest) — published already,
/// so there is no earlier version to compare with.
pub(crate) fn previous_of(
    rt: &Runtime,
    v: usize,
    image_id: &str,
) -> Result<Option<Previous>, TaskError> {
    if rt.spec.registry.is_none() {
        return Ok(None);
    }
    let stable = rt.stable(v);
    let repo = stable.repository.as_str();
    let Some(manifest) = rt.ask_registry(|r| r.manifest(repo, stable.tag()))? else {
        return Ok(None);
    };
    // A manifest list or an artifact under the stable tag is not an image dorun published.
    let Ok(blobs) = manifest.blobs() else {
        return Ok(None);
    };
    if blobs[0].digest == image_id {
        return Ok(None);
    }
    let reference = stable.to_string();
    if let Some(stored) = super::metrics_beside::read(rt, repo, &manifest.digest)? {
        return Ok(Some(Previous {
            reference,
            numbers: stored.numbers,
            size_compressed: false,
        }));
    }
    let layers = &blobs[1..];
    Ok(Some(Previous {
        reference,
        numbers: Measured {
            size_bytes: layers.iter().map(|l| l.size as i64).sum(),
            layers: layers.len(),
            ..Default::default()
        },
        size_compressed: true,
    }))
}
