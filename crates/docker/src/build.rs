//! `Engine::build`: one classic-builder build with a streamed context, its output turned into
//! [`BuildEvent`]s, and the result described from the engine's image history.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use futures_util::StreamExt;

use crate::context::{context_entries, stream_tar, ContextListing};
use crate::engine::Engine;
use crate::error::{DockerError, Result};
use crate::image::Layer;

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
    /// Labels added to the image.
    pub labels: BTreeMap<String, String>,
    /// The files to send, as [`context_entries`] listed them (for instance while hashing the
    /// image's identity), so that what was hashed is what is sent. None: list them now.
    pub context: Option<ContextListing>,
}

/// Progress of a build, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// The builder started step `n` of `m`; `text` is the instruction (`RUN make`).
    Step { n: u32, m: u32, text: String },
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
}

impl Engine {
    /// Builds `req` with the classic builder, streaming the context as a tar that honours
    /// `.dockerignore`. Every output line goes to `on_event`. A failing step ends with
    /// [`DockerError::BuildFailed`] carrying the builder's message. Intermediate containers are
    /// always removed (`forcerm`).
    pub fn build(
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
        let tar = stream_tar(listing.entries);
        let options = BuildImageOptions {
            dockerfile: req.dockerfile.trim_start_matches("./").to_string(),
            t: req.tags.first().cloned(),
            rm: true,
            forcerm: true,
            buildargs: Some(to_hash_map(&req.build_args)),
            labels: Some(to_hash_map(&req.labels)),
            version: BuilderVersion::BuilderV1,
            ..Default::default()
        };
        let body = bollard::body_try_stream(tar.body);

        let client = self.build_client();
        let streamed = self.block_on(async {
            let mut stream = client.build_image(options, None, Some(body));
            let mut lines = LineSplitter::default();
            let mut image_id = None;
            let mut emit = |line: String| {
                if let Some(step) = parse_step(&line) {
                    on_event(step);
                }
                on_event(BuildEvent::Line(line));
            };
            while let Some(item) = stream.next().await {
                let info = match item {
                    Ok(info) => info,
                    Err(e) => {
                        lines.finish().into_iter().for_each(&mut emit);
                        return Err(e);
                    }
                };
                if let Some(text) = info.stream.as_deref() {
                    lines.push(text).into_iter().for_each(&mut emit);
                }
                if let Some(status) = info.status {
                    emit(status);
                }
                if let Some(id) = info.aux.and_then(|aux| aux.id) {
                    image_id = Some(id);
                }
            }
            let rest = lines.finish();
            if image_id.is_none() {
                image_id = rest.iter().chain(lines.seen_built.iter()).find_map(|l| {
                    l.strip_prefix("Successfully built ")
                        .map(|id| id.trim().to_string())
                });
            }
            rest.into_iter().for_each(&mut emit);
            Ok(image_id)
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
                return Err(DockerError::BuildFailed { message: error })
            }
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                return Err(DockerError::BuildFailed { message })
            }
            Err(e) => {
                context_result?;
                return Err(self.err("building an image", e));
            }
            Ok(id) => {
                context_result?;
                id
            }
        };
        let image_id = image_id.ok_or_else(|| DockerError::BuildFailed {
            message: "the engine finished the build without reporting an image id".into(),
        })?;

        for extra in req.tags.iter().skip(1) {
            self.tag_reference(&image_id, extra)?;
        }
        let config = self.image_config(&image_id)?;
        let layers = self.history(&image_id)?;
        Ok(BuildOutcome {
            image_id: config.id,
            size: config.size,
            layers,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

fn to_hash_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Parses the classic builder's `Step 2/5 : RUN make` line.
pub(crate) fn parse_step(line: &str) -> Option<BuildEvent> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, text) = rest.split_once(" : ")?;
    let (n, m) = counts.split_once('/')?;
    Some(BuildEvent::Step {
        n: n.trim().parse().ok()?,
        m: m.trim().parse().ok()?,
        text: text.trim_end().to_string(),
    })
}

/// Reassembles lines from `stream` fragments, which may split or join lines arbitrarily.
#[derive(Default)]
struct LineSplitter {
    partial: String,
    /// The `Successfully built <id>` line, kept in case no `aux` item carried the id.
    seen_built: Option<String>,
}

impl LineSplitter {
    fn push(&mut self, text: &str) -> Vec<String> {
        self.partial.push_str(text);
        let mut out = Vec::new();
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            if line.starts_with("Successfully built ") {
                self.seen_built = Some(line.clone());
            }
            out.push(line);
        }
        out
    }

    fn finish(&mut self) -> Vec<String> {
        let rest = std::mem::take(&mut self.partial);
        if rest.is_empty() {
            Vec::new()
        } else {
            vec![rest]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_parse() {
        assert_eq!(
            parse_step("Step 2/5 : RUN echo hi"),
            Some(BuildEvent::Step {
                n: 2,
                m: 5,
                text: "RUN echo hi".into()
            })
        );
        assert_eq!(parse_step(" ---> Running in abc"), None);
        assert_eq!(parse_step("Step x/5 : RUN"), None);
    }

    #[test]
    fn splitter_joins_fragments_and_splits_batches() {
        let mut s = LineSplitter::default();
        assert!(s.push("Step 1/2 : FR").is_empty());
        assert_eq!(
            s.push("OM scratch\n ---> x\nhal"),
            ["Step 1/2 : FROM scratch", " ---> x"]
        );
        assert_eq!(s.finish(), ["hal"]);
        assert!(s.finish().is_empty());
    }
}
