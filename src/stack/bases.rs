//! External base images (SPEC §4): every `FROM` of a variant's Dockerfile that is not its stack
//! parent, `scratch` or an earlier stage, resolved once per run to a digest — from its registry
//! (with the credentials a push uses), else from the local engine — for the identity; the build
//! sends the Dockerfile with those `FROM`s pinned to the digests (`--pull` also moves the
//! engine's tags), so that what was hashed is what is built.
use super::runtime::Runtime;
use crate::exec::work::TaskError;
use dorun_docker::{Credentials, DockerError, ImageRef, Registry};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// What `BASE_IMAGE` and `BASE_TAG` expand to while looking for external images: a `FROM`
/// holding it names the stack parent, which the parent's identity covers already.
const PARENT: &str = "\u{1}dorun-parent\u{1}";

/// Base images looked up at once (registry round trips, not CPU work).
const AT_ONCE: usize = 8;

/// An external base image and the digest that entered the identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    /// As the Dockerfile names it, arguments expanded.
    pub reference: String,
    /// `sha256:…`: the registry's manifest digest (a manifest list's when it is one), or the
    /// local image's repository digest, or its id when it has none.
    pub digest: String,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The registry's manifest digest (or the digest the Dockerfile pins).
    Registry,
    /// The local engine's repository digest for the reference's repository.
    LocalDigest,
    /// The local engine's image id: the image never came from, or went to, a registry.
    LocalId,
}

impl Base {
    /// `name@digest`, what the build's `FROM` names instead; None for a local image id,
    /// which a `FROM` cannot name (the tag already points at it).
    pub(crate) fn pinned(&self) -> Option<String> {
        let reference = ImageRef::parse(&self.reference).ok()?;
        (self.source != Source::LocalId).then(|| format!("{}@{}", reference.name(), self.digest))
    }
}

/// One answer per key, made once however many threads ask for it at the same time.
type Once<T> = Mutex<HashMap<String, Arc<OnceLock<Result<T, TaskError>>>>>;

/// The run's answers, one per reference, and the pulls `--pull` made.
#[derive(Default)]
pub(crate) struct BaseMemo {
    resolved: Once<Base>,
    pulled: Once<()>,
    /// Per variant, the external references its Dockerfile names: read once per run (the
    /// preflight's `resolve_bases` and the identity both ask).
    references: Mutex<HashMap<usize, Arc<[String]>>>,
    /// `--pull`: bring each base into the engine and move its tag there.
    pull: AtomicBool,
}

impl BaseMemo {
    pub(crate) fn set_pull(&self, pull: bool) {
        self.pull.store(pull, Ordering::Relaxed);
    }
}

/// The Dockerfile's text and the build args its `FROM`s expand with (the parent's as a marker).
pub(crate) fn dockerfile_of(rt: &Runtime, v: usize) -> (Option<String>, BTreeMap<String, String>) {
    let variant = rt.variant(v);
    let image = rt.spec.image(&variant.image);
    let path = rt
        .root
        .join(&rt.spec.images_dir)
        .join(&image.name)
        .join(rt.spec.dockerfile_of(variant));
    let mut args = rt.spec.build_args_of(variant);
    if variant.parent.is_some() {
        args.insert("BASE_IMAGE".into(), PARENT.into());
        args.insert("BASE_TAG".into(), PARENT.into());
    }
    (std::fs::read_to_string(path).ok(), args)
}

/// The external base images variant `v`'s Dockerfile names (an unreadable one names none: the
/// identity reports it), read once per run.
pub(crate) fn references(rt: &Runtime, v: usize) -> Arc<[String]> {
    if let Some(known) = crate::sync::lock(&rt.bases.references).get(&v) {
        return known.clone();
    }
    let found: Arc<[String]> = match dockerfile_of(rt, v) {
        (Some(text), args) => dorun_docker::external_images(&text, &args)
            .into_iter()
            .filter(|image| !image.contains(PARENT))
            .collect(),
        (None, _) => Arc::new([]),
    };
    crate::sync::lock(&rt.bases.references)
        .entry(v)
        .or_insert(found)
        .clone()
}

/// Variant `v`'s bases, resolved (each reference once per run).
pub(crate) fn of_variant(rt: &Runtime, v: usize) -> Result<Vec<Base>, TaskError> {
    resolve_all(rt, &references(rt, v))
}

/// Resolves `references` concurrently (at most [`AT_ONCE`] at a time); the first error wins.
pub(crate) fn resolve_all(rt: &Runtime, references: &[String]) -> Result<Vec<Base>, TaskError> {
    if references.len() <= 1 {
        return references.iter().map(|r| resolve(rt, r)).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<Base, TaskError>>>> =
        references.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE.min(references.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(reference) = references.get(i) else {
                    break;
                };
                *crate::sync::lock(&results[i]) = Some(resolve(rt, reference));
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every reference resolved")
        })
        .collect()
}

/// One reference's answer, asked once per run.
fn resolve(rt: &Runtime, reference: &str) -> Result<Base, TaskError> {
    let cell = crate::sync::lock(&rt.bases.resolved)
        .entry(reference.to_string())
        .or_default()
        .clone();
    cell.get_or_init(|| look_up(rt, reference)).clone()
}

fn look_up(rt: &Runtime, text: &str) -> Result<Base, TaskError> {
    let reference =
        ImageRef::parse(text).map_err(|e| TaskError::new(format!("base image {text}: {e}")))?;
    if let Some(digest) = &reference.digest {
        // Pinned in the Dockerfile: nothing to ask.
        return Ok(Base {
            reference: text.to_string(),
            digest: digest.clone(),
            source: Source::Registry,
        });
    }
    let host = reference.registry_host().to_string();
    let answer = registry_digest(rt, &reference);
    let local = || local_digest(rt, text, &reference);
    match answer {
        Ok(Some(digest)) => Ok(Base {
            reference: text.to_string(),
            digest,
            source: Source::Registry,
        }),
        Ok(None) => local()?.ok_or_else(|| {
            TaskError::new(format!(
                "base image {text} is neither in registry {host} nor in the local engine"
            ))
        }),
        Err(e) => match local()? {
            Some(base) => {
                eprintln!(
                    "dorun: warning: base image {text}: registry {host} did not answer ({e}); \
                     using the local engine's image ({})",
                    base.digest
                );
                Ok(base)
            }
            None if e.is_environment() => Err(TaskError::environment(format!(
                "base image {text}: {e} (and the local engine does not have it)"
            ))),
            None => Err(TaskError::new(format!("base image {text}: {e}"))),
        },
    }
}

/// The registry's digest for the reference's tag: through the run's own client when the base
/// lives in the stack's registry, else a client with that registry's credentials.
fn registry_digest(rt: &Runtime, reference: &ImageRef) -> Result<Option<String>, DockerError> {
    let (host, repository) = api_location(reference);
    if rt.spec.registry.as_deref() == Some(host.as_str()) {
        if let Ok(Some(registry)) = rt.registry() {
            return registry.manifest_digest(&repository, reference.tag());
        }
    }
    let creds = Credentials::lookup(&host)?;
    Registry::new(&host, creds)
        .with_timeout(rt.registry_deadline())
        .manifest_digest(&repository, reference.tag())
}

/// Where the registry API of a reference lives: Docker Hub's names (`debian`, `user/app`) are
/// served by `registry-1.docker.io`, official images under `library/`.
fn api_location(reference: &ImageRef) -> (String, String) {
    match reference.registry.as_deref() {
        None | Some("docker.io" | "index.docker.io") => {
            let repository = match reference.repository.contains('/') {
                true => reference.repository.clone(),
                false => format!("library/{}", reference.repository),
            };
            ("registry-1.docker.io".into(), repository)
        }
        Some(host) => (host.to_string(), reference.repository.clone()),
    }
}

/// The local image's repository digest for the reference's repository, else its id.
fn local_digest(rt: &Runtime, text: &str, reference: &ImageRef) -> Result<Option<Base>, TaskError> {
    let engine = rt.engine()?;
    let Some((id, repo_digests)) = engine.image_digests(text).map_err(TaskError::from)? else {
        return Ok(None);
    };
    let prefix = format!("{}@", reference.name());
    let (digest, source) = match repo_digests.iter().find_map(|d| d.strip_prefix(&prefix)) {
        Some(digest) => (digest.to_string(), Source::LocalDigest),
        None => (id, Source::LocalId),
    };
    Ok(Some(Base {
        reference: text.to_string(),
        digest,
        source,
    }))
}

/// Before variant `v`'s build: each base pinned to a registry digest is brought into the
/// engine when it is not there (with the registry's credentials, which the builder would not
/// have), and with `--pull` pulled in any case and the engine's tag moved to it, as `docker
/// pull` does. Once per base per run. Returns the Dockerfile text to send (FROMs pinned).
pub(crate) fn prepare_build(
    rt: &Runtime,
    v: usize,
    bases: &[Base],
    log: &mut dyn std::io::Write,
) -> Result<Option<String>, TaskError> {
    let pull = rt.bases.pull.load(Ordering::Relaxed);
    let mut pins = BTreeMap::new();
    for base in bases {
        let Some(pinned) = base.pinned() else {
            continue;
        };
        if base.source == Source::Registry {
            let cell = crate::sync::lock(&rt.bases.pulled)
                .entry(base.reference.clone())
                .or_default()
                .clone();
            cell.get_or_init(|| fetch(rt, base, &pinned, pull, log))
                .clone()?;
        }
        pins.insert(base.reference.clone(), pinned);
    }
    if pins.is_empty() {
        return Ok(None);
    }
    let (Some(text), args) = dockerfile_of(rt, v) else {
        return Ok(None);
    };
    Ok(Some(dorun_docker::pin_images(&text, &args, &pins)))
}

fn fetch(
    rt: &Runtime,
    base: &Base,
    pinned: &str,
    pull: bool,
    log: &mut dyn std::io::Write,
) -> Result<(), TaskError> {
    let engine = rt.engine()?;
    let present = engine.image_id(pinned).map_err(TaskError::from)?.is_some();
    if pull || !present {
        let _ = writeln!(log, "pulling base image {pinned}");
        let reference = ImageRef::parse(pinned).map_err(TaskError::from)?;
        let (host, _) = api_location(&reference);
        let creds = Credentials::lookup(&host).map_err(TaskError::from)?;
        engine
            .pull_with(pinned, creds.as_ref(), &mut |_| {})
            .map_err(|e| {
                let mut error = TaskError::from(e);
                error.message = format!("base image {}: {}", base.reference, error.message);
                error
            })?;
    }
    if pull {
        // As after `docker pull <reference>`: the tag names the registry's image.
        engine
            .tag_reference(pinned, &base.reference)
            .map_err(TaskError::from)?;
        let _ = writeln!(log, "{} now points at {pinned}", base.reference);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_names_are_asked_where_docker_asks() {
        let at = |text: &str| api_location(&ImageRef::parse(text).unwrap());
        assert_eq!(
            at("debian:bookworm"),
            ("registry-1.docker.io".into(), "library/debian".into())
        );
        assert_eq!(
            at("user/app"),
            ("registry-1.docker.io".into(), "user/app".into())
        );
        assert_eq!(
            at("127.0.0.1:5000/up/base:12"),
            ("127.0.0.1:5000".into(), "up/base".into())
        );
    }

    #[test]
    fn a_local_image_id_is_not_pinned() {
        let base = |source| Base {
            reference: "r:5000/up/base:12".into(),
            digest: "sha256:ab".into(),
            source,
        };
        assert_eq!(
            base(Source::Registry).pinned().as_deref(),
            Some("r:5000/up/base@sha256:ab")
        );
        assert_eq!(base(Source::LocalId).pinned(), None);
    }
}
