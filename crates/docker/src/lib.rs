//! `dorun-docker`: the only part of dorun that talks to a Docker engine or a registry, and the
//! only async code. It wraps bollard + tokio behind a **blocking** API that the task executor's
//! worker threads call concurrently: [`Engine`] is `Send + Sync`, owns a multi-thread tokio
//! runtime and one `bollard::Docker`, and every method runs `block_on` (never call it from
//! inside an async context).
//!
//! # Engine
//! ```text
//! Engine::connect() -> Result<Engine>                      DOCKER_HOST (unix://, tcp://), ≤ ~5 s
//! Engine::connect_to(host: &str) -> Result<Engine>
//! engine.image_id(reference) -> Result<Option<String>>      None when absent locally
//! engine.build(&BuildRequest, &mut dyn FnMut(BuildEvent)) -> Result<BuildOutcome>
//!     BuildKit: over dorun's own session, every tag named in the request; with secrets,
//!     every value masked `***`
//! engine.tag(image, repo, tag) -> Result<()>;  engine.tag_reference(image, "repo:tag")
//! engine.remove_image(reference, force) -> Result<()>       missing is fine
//! engine.history(image) -> Result<Vec<Layer>>               newest first
//! engine.image_config(image) -> Result<ImageConfig>
//! engine.run(&RunSpec) -> Result<RunResult>                 container always removed, and
//!                                                           stopped in-container at its timeout
//! engine.set_request_timeout(Duration)                      deadline of every call but a build
//! engine.set_owner(Owner { project, run })                  labels of every container made
//! engine.remove_containers_of_other_runs() -> Result<usize> leftovers of dead runs
//! engine.stat_path(image, path) -> Result<Option<FileInfo>>
//! engine.export_image(&[references], &mut dyn Write) -> Result<u64>   `docker save`, streamed
//! engine.load_image(path) -> Result<Vec<String>>           `docker load`; the references loaded
//! archive_tags(path) -> Result<Vec<String>>                 RepoTags of an archive's manifest.json
//! engine.push(reference, Option<&Credentials>) -> Result<String /* sha256:… */>
//! engine.push_with(reference, creds, &mut dyn FnMut(&str)) -> Result<String>
//! engine.pull_with(reference, creds, &mut dyn FnMut(&str)) -> Result<()>
//! engine.remove_live_containers() -> usize                  for a Ctrl-C handler
//! engine.containers_with_label("dorun=1") -> Result<Vec<String>>   leftovers, all states
//! engine.start_detached(&DetachedSpec) -> Result<Detached>  a service / measured container,
//!     removed when the handle drops: .wait_healthy(timeout, stop), .log_tail(n),
//!     .wait_for_line(ready, timeout), .sample_memory(duration), .status()
//! engine.create_network(internal, labels) -> Result<NetworkGuard>  removed when dropped
//! engine.remove_networks_of_other_runs(); engine.networks_with_label(label)
//! Engine::live_containers() -> Vec<String>;  engine.host();  engine.api_version()
//! ```
//! The build context is streamed as a tar honouring `.dockerignore` with the docker CLI's
//! semantics ([`context_entries`] lists the same files, for identity hashing; names are bytes;
//! a [`BuildRequest`] may carry that listing, and then exactly it is sent).
//! Every container carries the label `dorun=1`, and with an [`Owner`] the labels of its project
//! and run.
//!
//! # Registry and credentials
//! ```text
//! Credentials::lookup(registry_host) -> Result<Option<Credentials>>
//!     DORUN_REGISTRY_USER + DORUN_REGISTRY_PASSWORD, else ~/.docker/config.json
//!     (auths, credHelpers, credsStore); Debug redacts the password
//! Registry::new(host, Option<Credentials>)                  http for loopback, https otherwise
//! registry.with_timeout(Duration)                           deadline per request (default 30 s)
//! registry.manifest_digest(repo, tag) -> Result<Option<String>>
//! registry.tags(repo) -> Result<Vec<String>>;  registry.ping() -> Result<()>
//! registry.manifest_descriptor(repo, tag|digest) / registry.manifest(repo, tag|digest)
//! registry.copy_manifest(&Manifest, from_repo, to_repo, &[tags]) -> Result<Vec<digest>>
//!     blobs mounted across repositories, the same bytes PUT: same digest, no layer moved
//! registry.push_artifact(repo, tag, type, payload, Some(&subject)) / registry.artifact(repo, tag)
//!     one-layer OCI artifacts under the referrers tag fallback (`referrers_tag`)
//! ```
//!
//! # References
//! ```text
//! ImageRef::parse("host:5000/ns/name:tag@sha256:…") / ImageRef::tagged(registry, repo, tag)
//!     Docker's split (host = first component with `.`, `:` or `localhost`), kept as written:
//!     Display gives back the text; `tag()` is `latest` when absent
//! ```
//!
//! # Errors
//! One enum, [`DockerError`], with the user-facing wording; [`DockerError::is_environment`]
//! marks "engine or registry unreachable" (exit code 3 in the CLI). No error message or
//! `Debug` output ever contains a password.

mod archive;
mod build;
mod build_output;
mod build_steps;
mod buildkit_progress;
mod buildkit_session;
mod challenge;
mod classic_progress;
mod container;
mod context;
mod credentials;
mod detached;
mod dockerfile_from;
mod dockerignore;
mod engine;
mod engine_http;
mod error;
mod frontend;
mod go_syntax;
mod health;
mod ignore_pattern;
mod image;
mod live;
mod local_images;
mod memory;
mod network;
mod output;
mod owner;
mod pull;
mod push;
mod reference;
mod registry;
mod registry_catalog;
mod registry_copy;
mod secret;
mod session_auth;
mod session_build;
mod stat;
mod watch;
mod watchdog;

pub use archive::archive_tags;
pub use build::{BuildEvent, BuildOutcome, BuildRequest, Builder};
pub use build_steps::BuildStep;
pub use container::{Limits, RunResult, RunSpec, UploadFile};
pub use context::{context_entries, display_rel, ContextEntry, ContextListing, EntryKind, LeftOut};
pub use credentials::Credentials;
pub use detached::{tmpfs_mounts, ContainerStatus, Detached, DetachedSpec};
pub use dockerfile_from::{external_images, from_instructions, pin_images, FromInstruction};
pub use dockerignore::{DockerIgnore, ParentMatches};
pub use engine::{Engine, DEFAULT_REQUEST_TIMEOUT};
pub use error::{DockerError, Result};
pub use health::{HealthSpec, Readiness};
pub use image::{ImageConfig, ImageContent, Layer};
pub use live::DORUN_LABEL;
pub use local_images::LocalImages;
pub use memory::MemoryUse;
pub use network::NetworkGuard;
pub use output::OutputWait;
pub use owner::{Owner, ProjectImage, PID_LABEL, PROJECT_LABEL, RUN_LABEL};
pub use reference::{ImageRef, DOCKER_HUB};
pub use registry::{Registry, DEFAULT_REGISTRY_TIMEOUT, REGISTRY_CONCURRENCY};
pub use registry_copy::{referrers_tag, sha256_digest, Descriptor, Manifest, OCI_MANIFEST};
pub use secret::{BuildSecret, Masker, SecretValue, MASK};
pub use stat::{FileInfo, MAX_CONTENTS};
