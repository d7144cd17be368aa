//! `Engine::build`: one build with a streamed context, through the classic builder or the
//! engine's BuildKit, its output turned into [`BuildEvent`]s, and the result described from the
//! engine's image history.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use futures_util::Stream;

use crate::build_steps::{BuildStep, StepRecorder};
use crate::context::{context_entries, stream_tar_replacing, ContextListing, Replacement};
use crate::credentials::Credentials;
use crate::engine::Engine;
use crate::error::{DockerError, Result};
use crate::image::Layer;
use crate::secret::{BuildSecret, Masker};
use crate::session_auth::RegistryAuth;

/// Which of the engine's builders runs a build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Builder {
    /// The classic builder (`DOCKER_BUILDKIT=0`): one container per step.
    Classic,
    /// The engine's BuildKit, driven through a bollard session (cache and bind mounts).
    #[default]
    BuildKit,
}

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The build context directory.
    pub context_dir: PathBuf,
    /// The Dockerfile, relative to `context_dir` (usually `"Dockerfile"`).
    pub dockerfile: String,
    /// Full references to tag the result with (`registry/ns/name:tag`); may be empty.
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    /// Labels added to the image (besides the owner's, see `Engine::set_owner`).
    pub labels: BTreeMap<String, String>,
    /// The files to send, as [`context_entries`] listed them (for instance while hashing the
    /// image's identity), so that what was hashed is what is sent. None: list them now.
    pub context: Option<ContextListing>,
    pub builder: Builder,
    /// Secrets `RUN --mount=type=secret,id=…` may read (BuildKit only), served by dorun's own
    /// session ([`crate::session_build`]); every value is masked (`***`) in the build's output
    /// and errors.
    pub secrets: Vec<BuildSecret>,
    /// The stage to stop at (`--target`); None: the last one.
    pub target: Option<String>,
    /// Images whose inline cache metadata BuildKit may reuse layers from (`--cache-from`); one
    /// that does not exist (yet) is skipped with a line in the log, not an error.
    pub cache_from: Vec<String>,
    /// Store BuildKit's cache metadata in the image (`BUILDKIT_INLINE_CACHE=1`), so that a
    /// later build elsewhere can name it in `cache_from`. Ignored by the classic builder.
    pub inline_cache: bool,
    /// Credentials for this registry host, for the builder's pulls (a parent named in `FROM`,
    /// a `cache_from` image); never logged (`Credentials`' Debug redacts the password).
    pub registry_auth: Option<(String, Credentials)>,
    /// The Dockerfile's text to send instead of the file on disk (its `FROM` lines pinned to
    /// digests); the file itself is left as the user wrote it. None: the file as it is.
    pub dockerfile_text: Option<String>,
    /// Build without the builder's cache (`--no-cache`): every step runs again.
    pub no_cache: bool,
}

/// Progress of a build, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildEvent {
    /// The builder started step `n` of `m`; `text` is the instruction (`RUN make`).
    Step { n: u32, m: u32, text: String },
    /// Step `n` of `m` finished: taken from the builder's cache, or run in `seconds`.
    StepFinished {
        n: u32,
        m: u32,
        text: String,
        cached: bool,
        seconds: f64,
    },
    /// Every output line, including the `Step` lines; the caller writes the full log from these.
    /// First come dorun's own warnings about the context (a socket that cannot be sent).
    Line(String),
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// `sha256:…`
    pub image_id: String,
    /// Image size in bytes.
    pub size: i64,
    /// Layers, newest first (as `docker history` lists them).
    pub layers: Vec<Layer>,
    /// Wall-clock seconds of the build, context upload included.
    pub seconds: f64,
    /// Each Dockerfile step, in the order the builder started them.
    pub steps: Vec<BuildStep>,
}

impl Engine {
    /// Builds `req` with `req.builder`, streaming the context as a tar that honours
    /// `.dockerignore`. Every output line goes to `on_event`. A failing step ends with
    /// [`DockerError::BuildFailed`] carrying the builder's message. Intermediate containers are
    /// always removed (`forcerm`).
    pub fn build(
        &self,
        req: &BuildRequest,
        on_event: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuildOutcome> {
        let masker = Masker::new(&req.secrets);
        let mut on_event =
            |event: BuildEvent| on_event(crate::build_output::mask_event(&masker, event));
        self.build_retrying(req, &mut on_event)
            .map(|mut outcome| {
                for step in &mut outcome.steps {
                    step.instruction = masker.mask(&step.instruction).into_owned();
                }
                outcome
            })
            .map_err(|e| match e {
                DockerError::BuildFailed { message } => DockerError::BuildFailed {
                    message: masker.mask(&message).into_owned(),
                },
                other => other,
            })
    }

    /// Builds, and builds again (at most [`RACE_RETRIES`] times) when the build failed only
    /// because the engine lost an image another client removed meanwhile, and once when the
    /// engine cut its answer short but still answers (a busy dockerd did, once in 2061 builds).
    fn build_retrying(
        &self,
        req: &BuildRequest,
        on_event: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuildOutcome> {
        let mut retries = 0;
        let mut cut_retried = false;
        loop {
            match self.build_once(req, on_event) {
                Err(cut @ DockerError::AnswerCut { .. }) if !cut_retried => {
                    cut_retried = true;
                    on_event(BuildEvent::Line(format!("{cut}; building again")));
                }
                Err(DockerError::BuildFailed { message })
                    if raced_with_a_removal(&message) && retries < RACE_RETRIES =>
                {
                    retries += 1;
                    on_event(BuildEvent::Line(format!(
                        "the engine lost an image while this build looked it up ({message}): \
                         another image was being removed; building again"
                    )));
                    // Let the removal that raced with the lookup finish first.
                    std::thread::sleep(std::time::Duration::from_millis(200 * retries));
                }
                other => return other,
            }
        }
    }

    fn build_once(
        &self,
        req: &BuildRequest,
        on_event: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuildOutcome> {
        let started = Instant::now();
        let listing = match &req.context {
            Some(listing) => listing.clone(),
            None => context_entries(&req.context_dir, &req.dockerfile)?,
        };
        for left_out in &listing.left_out {
            on_event(BuildEvent::Line(left_out.warning()));
        }
        let replacement = req.dockerfile_text.as_ref().map(|text| Replacement {
            rel: PathBuf::from(req.dockerfile.trim_start_matches("./")),
            content: text.clone().into_bytes(),
        });
        let tar = stream_tar_replacing(listing.entries, replacement);
        let buildkit = req.builder == Builder::BuildKit;
        let mut build_args = req.build_args.clone();
        if buildkit && req.inline_cache {
            build_args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
        }
        // The owner's labels under the caller's: with BuildKit they cost nothing; the classic
        // builder adds them as one last metadata step (no layer), which `prune` needs to tell
        // dorun's images from others.
        let mut labels = req.labels.clone();
        labels.extend(self.image_labels());
        let options = BuildImageOptions {
            dockerfile: req.dockerfile.trim_start_matches("./").to_string(),
            t: req.tags.first().cloned(),
            rm: true,
            forcerm: true,
            buildargs: Some(to_hash_map(&build_args)),
            labels: Some(to_hash_map(&labels)),
            version: match req.builder {
                Builder::Classic => BuilderVersion::BuilderV1,
                Builder::BuildKit => BuilderVersion::BuilderBuildKit,
            },
            // BuildKit talks to bollard over this session (context, auth); one per build.
            session: buildkit.then(new_session_id),
            target: req.target.clone().unwrap_or_default(),
            cachefrom: (!req.cache_from.is_empty()).then(|| req.cache_from.clone()),
            nocache: req.no_cache,
            ..Default::default()
        };

        // BuildKit asks the session for these; the classic builder gets them as a header.
        let auth = req.registry_auth.as_ref().map(|(host, c)| {
            HashMap::from([(
                host.clone(),
                DockerCredentials {
                    username: Some(c.username.clone()),
                    password: Some(c.password.clone()),
                    serveraddress: Some(host.clone()),
                    ..Default::default()
                },
            )])
        });
        let client = self.build_client();
        let mut recorder = StepRecorder::default();
        // BuildKit builds go over dorun's own session, which takes every tag in the build
        // request: the engine names the image as it exports it, where a tag request after the
        // build held a `-j` slot for one more round trip (bollard's `build_image` takes one
        // tag, and opens a second connection for a gRPC client it does not use here).
        let extra_tags = match buildkit {
            true => req.tags.get(1..).unwrap_or_default(),
            false => &[],
        };
        let streamed = self.block_on(async {
            let stream: std::pin::Pin<Box<dyn Stream<Item = _> + Send>> = if buildkit {
                let target = crate::session_build::Target {
                    host: &self.host,
                    api: self.api_version(),
                    headers_within: client.timeout(),
                };
                Box::pin(crate::session_build::build(
                    target,
                    options,
                    extra_tags,
                    tar.body,
                    &req.secrets,
                    RegistryAuth(req.registry_auth.clone()),
                ))
            } else {
                let body = bollard::body_try_stream(tar.body);
                Box::pin(client.build_image(options, auth, Some(body)))
            };
            let mut emit = |event: BuildEvent| {
                recorder.see(&event);
                on_event(event);
            };
            crate::build_output::read(stream, &mut emit).await
        });

        // A context read error explains a broken upload better than the engine can.
        let context_result = tar.writer.join().unwrap_or_else(|_| {
            Err(DockerError::Context {
                path: req.context_dir.clone(),
                detail: "the context writer panicked".into(),
            })
        });
        let image_id = match streamed {
            // The builder's verdict on the Dockerfile: in the stream, or (for requests it
            // rejects outright, like a parse error) as the HTTP answer.
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(DockerError::BuildFailed {
                    message: explain_frontend(req, error),
                })
            }
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                return Err(DockerError::BuildFailed {
                    message: explain_frontend(req, explain_refusal(req.builder, message)),
                })
            }
            Err(e) => {
                context_result?;
                return Err(self.stream_err("building an image", e));
            }
            Ok(id) => {
                context_result?;
                id
            }
        };
        let image_id = image_id.ok_or_else(|| DockerError::BuildFailed {
            message: "the engine finished the build without reporting an image id".into(),
        })?;

        let steps = recorder.finish();
        let tagged = req.tags.len().min(1) + extra_tags.len();
        for extra in req.tags.iter().skip(tagged) {
            self.tag_reference(&image_id, extra)?;
        }
        // The classic builder may name its image by a short id only ("Successfully built").
        let image_id = match is_full_image_id(&image_id) {
            true => image_id,
            false => self.image_config(&image_id)?.id,
        };
        let layers = self.history(&image_id)?;
        Ok(BuildOutcome {
            image_id,
            // The engine's image size is the sum of its layers' (as `previous` sums them): no
            // inspection after each build for it.
            size: layers.iter().map(|l| l.size).sum(),
            layers,
            seconds: started.elapsed().as_secs_f64(),
            steps,
        })
    }
}

/// `sha256:` and 64 hex digits: an image id as the engine's inspection spells it.
fn is_full_image_id(id: &str) -> bool {
    id.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A BuildKit build of a Dockerfile whose `# syntax=` frontend image could not be pulled
/// says so (the engine's own words name the image, not the line that asked for it).
fn explain_frontend(req: &BuildRequest, message: String) -> String {
    if req.builder != Builder::BuildKit {
        return message;
    }
    let dockerfile = std::fs::read_to_string(req.context_dir.join(&req.dockerfile));
    let image = dockerfile
        .ok()
        .and_then(|text| crate::frontend::syntax_image(&text));
    crate::frontend::explain_failure(message, image.as_deref())
}

/// A session id unique on this engine: BuildKit keys the session's files by it.
fn new_session_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("dorun-{}-{nanos}-{n}", std::process::id())
}

/// An engine that refuses a BuildKit build outright (no BuildKit support: an old or Windows
/// engine) gets a message naming the setting that asked for it.
pub(crate) fn explain_refusal(builder: Builder, message: String) -> String {
    let lower = message.to_lowercase();
    let about_buildkit = lower.contains("buildkit")
        || lower.contains("builder version")
        || lower.contains("session");
    if builder == Builder::BuildKit && about_buildkit {
        format!(
            "{message}\nthis engine cannot build with BuildKit: set [stack] builder = \"classic\" (or DORUN_BUILDER=classic)"
        )
    } else {
        message
    }
}

fn to_hash_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// How many times a build that raced with an image removal is built again: removals come in
/// bursts (a test suite cleaning up), so once is not always enough.
const RACE_RETRIES: u64 = 3;

/// The classic builder of engine 20.10 walks the image store for a cache hit while another
/// client may be removing images; it then fails with `unable to find image "sha256:…"` or
/// `failed to get digest sha256:…` although nothing is wrong with the build. Worth one retry.
fn raced_with_a_removal(message: &str) -> bool {
    message.contains("unable to find image \"sha256:")
        || message.contains("failed to get digest sha256:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_that_raced_with_a_removal_is_retried_and_nothing_else() {
        assert!(raced_with_a_removal(
            "unable to find image \"sha256:7b31c4e1\": No such image"
        ));
        assert!(raced_with_a_removal(
            "failed to get digest sha256:d44a: open /var/lib/docker/image/overlay2/x: no such file"
        ));
        assert!(!raced_with_a_removal(
            "The command '/bin/sh -c false' returned a non-zero code: 1"
        ));
        assert!(!raced_with_a_removal(
            "unable to find image \"busybox:latest\""
        ));
    }

    #[test]
    fn only_a_whole_image_id_stands_for_the_image() {
        let hex = "5c026bacbe9e17e618a4ef53121b3855b6a4162b263db3adeb49e9840e4bb83c";
        assert!(is_full_image_id(&format!("sha256:{hex}")));
        assert!(
            !is_full_image_id("5c026bacbe9e"),
            "the classic builder's short id"
        );
        assert!(!is_full_image_id(hex));
        assert!(!is_full_image_id(&format!("sha256:{}", &hex[..12])));
    }

    #[test]
    fn a_refused_buildkit_build_names_the_setting() {
        let refused = "buildkit not supported by daemon".to_string();
        let explained = explain_refusal(Builder::BuildKit, refused.clone());
        assert!(explained.starts_with(&refused), "{explained}");
        assert!(
            explained.contains("[stack] builder = \"classic\""),
            "{explained}"
        );
        assert!(explained.contains("DORUN_BUILDER=classic"), "{explained}");
        // Other refusals, and the classic builder's, are left as the engine said them.
        let parse_error = "dockerfile parse error line 1: unknown instruction: FORM".to_string();
        assert_eq!(
            explain_refusal(Builder::BuildKit, parse_error.clone()),
            parse_error
        );
        assert_eq!(explain_refusal(Builder::Classic, refused.clone()), refused);
    }
}
