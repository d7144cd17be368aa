//! Restat, as ninja does it (SPEC §4): an image is judged by what its parent's image *is*, not
//! only by the parent's identity. A child's build records the digest of its parent's content
//! (layers and settings, `parent_content`) and its own identity (the identity without parent
//! and period). Then:
//! - the parent rebuilt under the same identity (`-B`, or lost and built again) into other
//!   content: the child, though its content tag exists, is stale (`parent_rebuilt`);
//! - the child due only because the parent's identity or the period changed, while its own
//!   identity and the parent's content are what it was built on: its previous image is
//!   re-tagged, not rebuilt (`reusable`).
use super::runtime::Runtime;
use crate::exec::work::TaskError;
use crate::fingerprint::{DirtyReason, Fingerprint};

/// The fingerprint setting holding the content tag: the identity sums up every other field.
pub(crate) const IDENTITY: &str = "identity";
/// The fingerprint setting holding the identity without parent and period, in hex.
pub(crate) const OWN_IDENTITY: &str = "own identity";
/// Prefix of the setting holding the digest of the parent's content (`<prefix><parent key>`).
pub(crate) const PARENT_CONTENT: &str = "parent content ";
/// The fingerprint setting holding the `rebuild-every` period the image was built in.
pub(crate) const PERIOD: &str = "rebuild period";

/// The digest of variant `v`'s parent's image as the local engine has it under the parent's
/// content tag (blake3 over its layers' diff ids and settings, hex); None without a parent
/// or when that image is not local (published, not pulled): then restat does not judge. An
/// image id met before (this run or an earlier one) is not inspected again (`content_memo`).
pub(crate) fn parent_content(rt: &Runtime, v: usize) -> Result<Option<String>, TaskError> {
    let Some(p) = rt.variant(v).parent else {
        return Ok(None);
    };
    let parent = &rt.facts(p)?.content;
    let Some(id) = rt.local_image(parent)? else {
        return Ok(None);
    };
    if let Some(digest) = rt.content_memo.get(&id) {
        return Ok(Some(digest));
    }
    let Some(content) = rt.local_content(parent)? else {
        return Ok(None);
    };
    let digest = content_digest(&content);
    rt.content_memo.put(&content.id, &digest);
    Ok(Some(digest))
}

/// blake3 over the layers' diff ids and the settings, hex.
fn content_digest(content: &dorun_docker::ImageContent) -> String {
    let mut hasher = blake3::Hasher::new();
    for layer in &content.layers {
        hasher.update(layer.as_bytes());
        hasher.update(b"\n");
    }
    hasher.update(b"\0settings\0");
    hasher.update(content.settings.as_bytes());
    hasher.finalize().to_hex().to_string()
}

fn parent_setting(rt: &Runtime, v: usize) -> Option<(String, String)> {
    let p = rt.variant(v).parent?;
    let key = rt.variant(p).key.clone();
    Some((format!("{PARENT_CONTENT}{key}"), key))
}

/// The content tag exists: stale only if it was recorded for this identity over a parent whose
/// content differs from the parent's image now.
pub(crate) fn parent_rebuilt(
    rt: &Runtime,
    v: usize,
    old: &Fingerprint,
    new: &Fingerprint,
) -> Option<DirtyReason> {
    let (setting, parent) = parent_setting(rt, v)?;
    if old.settings.get(IDENTITY) != new.settings.get(IDENTITY) {
        return None;
    }
    let (then, now) = (old.settings.get(&setting)?, new.settings.get(&setting)?);
    (then != now).then(|| DirtyReason::ParentContentChanged {
        parent,
        old: then.clone(),
        new: now.clone(),
    })
}

/// The content tag is new: the previous image can stand for it when the image's own identity
/// is unchanged, the parent's content is what it was built on, and that image is still local.
pub(crate) fn reusable(
    rt: &Runtime,
    v: usize,
    old: &Fingerprint,
    new: &Fingerprint,
) -> Result<Option<DirtyReason>, TaskError> {
    let Some((setting, parent)) = parent_setting(rt, v) else {
        return Ok(None);
    };
    let same = |key: &str| {
        let then = old.settings.get(key);
        then.is_some() && then == new.settings.get(key)
    };
    if !same(OWN_IDENTITY) || !same(&setting) {
        return Ok(None);
    }
    let Some(tag) = old.settings.get(IDENTITY) else {
        return Ok(None);
    };
    let previous = rt.spec.image_ref(&rt.variant(v).image, tag);
    if rt.local_image(&previous)?.is_none() {
        return Ok(None);
    }
    Ok(Some(DirtyReason::ParentContentSame { parent, previous }))
}
