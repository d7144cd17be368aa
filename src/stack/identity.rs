//! Image identity (SPEC §4): blake3 over the build context as the engine sees it (honouring
//! `.dockerignore`), the Dockerfile, the resolved build args, the target stage when set, the
//! `rebuild-all-on` files, the builder when it is BuildKit, the digest of each external base
//! image (see `bases`), the parent's identity, and with `rebuild-every` the current period.
//! Everything but the last two is the image's own identity, which restat compares (see
//! `stack::restat`). Paths are relative (their bytes,
//! UTF-8 or not); no mtime or absolute path enters the hash. The context listing the hash was
//! computed over is kept, and the build sends exactly that list, so the files hashed and the
//! files sent cannot differ.
use super::bases::Base;
use crate::config::stack_model::{StackSpec, Variant};
use crate::fingerprint::{files, rel_path, Hash, StatCache};
use dorun_docker::{ContextListing, EntryKind};
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub digest: Hash,
    /// The digest of what the image itself is made of: the identity without the parent and
    /// the period. Equal own identities on equal parent contents build equal images.
    pub own: Hash,
    /// Every file that entered the digest with its hash: the context files as
    /// `images/NAME/...` and the rebuild-all-on files, so a change can be named.
    pub inputs: Vec<(String, Hash)>,
    pub build_args: BTreeMap<String, String>,
    /// The build context as walked for the digest (parents first, names in byte order): the
    /// build streams this list instead of walking the directory again.
    pub context: ContextListing,
    /// The external base images with the digests that entered the digest.
    pub bases: Vec<Base>,
}

impl Identity {
    /// The first 12 hex digits, as used in content tags.
    pub(crate) fn short(&self) -> String {
        self.digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Computes one variant's identity given its parent's.
pub(crate) fn compute(
    root: &Path,
    spec: &StackSpec,
    variant: &Variant,
    parent: Option<&Identity>,
    bases: &[Base],
    period: Option<u64>,
    cache: &StatCache,
) -> Result<Identity, String> {
    let image = spec.image(&variant.image);
    let context_rel = format!("{}/{}", spec.images_dir, image.name);
    let context_dir = root.join(&context_rel);
    let dockerfile = spec.dockerfile_of(variant);
    let listing =
        dorun_docker::context_entries(&context_dir, dockerfile).map_err(|e| e.to_string())?;
    let mut inputs = Vec::new();
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"dorun-identity-v1\0");
    for entry in &listing.entries {
        // The name's bytes enter the hash; the lossless string form keys the stat cache.
        let rel = format!("{context_rel}/{}", rel_path::encode(entry.rel.as_os_str()));
        let shown = || rel_path::display(&rel).into_owned();
        // The walk's own lstat: what the stat cache keys on is what the build sends.
        let meta = &entry.meta;
        // The kind and the executable bit change what COPY produces; the content too.
        let content = match entry.kind {
            EntryKind::File => cache
                .hash(root, &rel, meta)
                .map_err(|e| format!("{}: {e}", shown()))?,
            EntryKind::Symlink => {
                let target =
                    std::fs::read_link(&entry.path).map_err(|e| format!("{}: {e}", shown()))?;
                *blake3::hash(target.as_os_str().as_bytes()).as_bytes()
            }
            EntryKind::Dir | EntryKind::Fifo => [0; 32],
        };
        let kind = match entry.kind {
            EntryKind::File => b'f',
            EntryKind::Symlink => b'l',
            EntryKind::Dir => b'd',
            EntryKind::Fifo => b'p',
        };
        let exec = meta.permissions().mode() & 0o111 != 0;
        hasher.update(entry.rel.as_os_str().as_bytes());
        hasher.update(&[0, kind, exec as u8]);
        hasher.update(&content);
        if entry.kind != EntryKind::Dir {
            inputs.push((rel, content));
        }
    }
    let build_args = spec.build_args_of(variant);
    hasher.update(b"\0args\0");
    for (k, v) in &build_args {
        hasher.update(k.as_bytes());
        hasher.update(b"=");
        hasher.update(v.as_bytes());
        hasher.update(b"\0");
    }
    hasher.update(b"\0dockerfile\0");
    hasher.update(dockerfile.as_bytes());
    // Another stage is another image. Only a set target enters the hash, so identities made
    // before the setting existed stay valid.
    if let Some(target) = spec.target_of(variant) {
        hasher.update(b"\0target\0");
        hasher.update(target.as_bytes());
    }
    hasher.update(b"\0rebuild-all-on\0");
    let pipeline = files::expand(root, &spec.rebuild_all_on);
    let pipeline = files::hash_all(root, &pipeline.files, cache).map_err(|e| e.to_string())?;
    for (rel, h) in &pipeline {
        hasher.update(rel.as_bytes());
        hasher.update(h);
    }
    inputs.extend(pipeline);
    // Only BuildKit enters the hash: identities (and records) made by the classic builder,
    // the only one before the setting existed, stay valid.
    if spec.builder == dorun_docker::Builder::BuildKit {
        hasher.update(b"\0builder\0buildkit");
    }
    // Only a Dockerfile with external bases hashes them: identities of stacks built FROM
    // scratch and their parents stay what they were before bases were resolved. They are the
    // image's own inputs, so they come before `own`.
    if !bases.is_empty() {
        hasher.update(b"\0bases\0");
        for base in bases {
            hasher.update(base.reference.as_bytes());
            hasher.update(b"@");
            hasher.update(base.digest.as_bytes());
            hasher.update(b"\0");
        }
    }
    let own = *hasher.finalize().as_bytes();
    hasher.update(b"\0parent\0");
    if let Some(p) = parent {
        hasher.update(&p.digest);
    }
    // Only a set schedule enters the hash, so identities made without one stay valid.
    if let (Some(every), Some(period)) = (&spec.rebuild_every, period) {
        hasher.update(format!("\0period\0{}:{period}", every.seconds).as_bytes());
    }
    inputs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    inputs.dedup_by(|a, b| a.0 == b.0);
    Ok(Identity {
        digest: *hasher.finalize().as_bytes(),
        own,
        inputs,
        build_args,
        context: listing,
        bases: bases.to_vec(),
    })
}
