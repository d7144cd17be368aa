//! The per-step account of one build ([`BuildStep`]: instruction, cached or not, seconds), as
//! BuildKit's vertices report it or as the classic builder's `Step n/m` lines imply it.

use std::collections::HashMap;
use std::time::Instant;

use bollard::moby::buildkit::v1::StatusResponse;

use crate::build::{parse_step, BuildEvent};

/// One Dockerfile step of a finished build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildStep {
    /// Where the step sits: `2/5`, with BuildKit's stage name in multi-stage builds
    /// (`stage-1 2/5`).
    pub position: String,
    /// The instruction as the builder shows it (`RUN make`).
    pub instruction: String,
    /// The builder reused an earlier result (BuildKit `CACHED`, classic `Using cache`).
    pub cached: bool,
    /// How long the step took: BuildKit's own start and completion times; for the classic
    /// builder the time until the next step started (or the build ended).
    pub seconds: f64,
}

/// `[stage-1 2/5] RUN make` -> (`stage-1 2/5`, 2, 5, `RUN make`); internal vertices
/// (`[internal] load .dockerignore`) and BuildKit's own (`exporting to image`) are no step.
pub(crate) fn parse_vertex_name(name: &str) -> Option<(&str, u32, u32, &str)> {
    let rest = name.strip_prefix('[')?;
    let (position, instruction) = rest.split_once("] ")?;
    let counts = position.rsplit(' ').next()?;
    let (n, m) = counts.split_once('/')?;
    Some((position, n.parse().ok()?, m.parse().ok()?, instruction))
}

/// Collects the steps of a BuildKit build from its status stream: a vertex is announced many
/// times as it progresses, each time with what is known so far.
#[derive(Default)]
pub(crate) struct BuildKitSteps {
    /// Vertex digest -> index in `steps`, in order of first sight.
    index: HashMap<String, usize>,
    steps: Vec<VertexTimes>,
}

struct VertexTimes {
    position: String,
    instruction: String,
    cached: bool,
    /// (seconds, nanos) since the epoch, as BuildKit stamps them.
    started: Option<(i64, i32)>,
    completed: Option<(i64, i32)>,
}

impl BuildKitSteps {
    pub(crate) fn feed(&mut self, status: &StatusResponse) {
        for vertex in &status.vertexes {
            let Some((position, _, _, instruction)) = parse_vertex_name(&vertex.name) else {
                continue;
            };
            let i = *self.index.entry(vertex.digest.clone()).or_insert_with(|| {
                self.steps.push(VertexTimes {
                    position: position.to_string(),
                    instruction: instruction.to_string(),
                    cached: false,
                    started: None,
                    completed: None,
                });
                self.steps.len() - 1
            });
            let step = &mut self.steps[i];
            step.cached |= vertex.cached;
            if let Some(t) = &vertex.started {
                step.started.get_or_insert((t.seconds, t.nanos));
            }
            if let Some(t) = &vertex.completed {
                step.completed = Some((t.seconds, t.nanos));
            }
        }
    }

    pub(crate) fn finish(self) -> Vec<BuildStep> {
        self.steps
            .into_iter()
            .map(|s| {
                let seconds = match (s.started, s.completed) {
                    (Some(a), Some(b)) => {
                        let span = (b.0 - a.0) as f64 + f64::from(b.1 - a.1) / 1e9;
                        rounded(span.max(0.0))
                    }
                    _ => 0.0,
                };
                BuildStep {
                    position: s.position,
                    instruction: s.instruction,
                    cached: s.cached,
                    seconds,
                }
            })
            .collect()
    }
}

/// Collects the steps of a classic build from its output lines: `Step 2/5 : RUN make` starts a
/// step, ` ---> Using cache` marks it cached, and it lasts until the next one starts.
#[derive(Default)]
pub(crate) struct ClassicSteps {
    steps: Vec<(BuildStep, Instant)>,
}

impl ClassicSteps {
    pub(crate) fn feed(&mut self, line: &str, now: Instant) {
        if let Some(BuildEvent::Step { n, m, text }) = parse_step(line) {
            self.close_last(now);
            self.steps.push((
                BuildStep {
                    position: format!("{n}/{m}"),
                    instruction: text,
                    cached: false,
                    seconds: 0.0,
                },
                now,
            ));
        } else if line.trim() == "---> Using cache" {
            if let Some((step, _)) = self.steps.last_mut() {
                step.cached = true;
            }
        }
    }

    fn close_last(&mut self, now: Instant) {
        if let Some((step, started)) = self.steps.last_mut() {
            step.seconds = rounded(now.duration_since(*started).as_secs_f64());
        }
    }

    pub(crate) fn finish(mut self, now: Instant) -> Vec<BuildStep> {
        self.close_last(now);
        self.steps.into_iter().map(|(step, _)| step).collect()
    }
}

/// Milliseconds are plenty for a build record.
fn rounded(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::Vertex;
    use std::time::Duration;

    /// `vertex` stamped with BuildKit's (seconds, nanos) times (bollard does not re-export the
    /// protobuf Timestamp type, so it is filled in place).
    fn stamped(
        mut vertex: Vertex,
        started: Option<(i64, i32)>,
        completed: Option<(i64, i32)>,
    ) -> Vertex {
        for (slot, time) in [
            (&mut vertex.started, started),
            (&mut vertex.completed, completed),
        ] {
            if let Some((seconds, nanos)) = time {
                let stamp = slot.get_or_insert_with(Default::default);
                stamp.seconds = seconds;
                stamp.nanos = nanos;
            }
        }
        vertex
    }

    fn status(vertexes: Vec<Vertex>) -> StatusResponse {
        StatusResponse {
            vertexes,
            ..Default::default()
        }
    }

    #[test]
    fn buildkit_steps_come_from_named_vertices_with_their_own_times() {
        let mut steps = BuildKitSteps::default();
        let vertex = |digest: &str, name: &str| Vertex {
            digest: digest.into(),
            name: name.into(),
            ..Default::default()
        };
        steps.feed(&status(vec![
            vertex("i", "[internal] load build definition from Dockerfile"),
            stamped(
                Vertex {
                    cached: true,
                    ..vertex("a", "[1/3] COPY busybox /bin/busybox")
                },
                Some((10, 0)),
                Some((10, 1_000_000)),
            ),
            stamped(
                vertex("b", "[stage-1 2/3] RUN make"),
                Some((10, 500_000_000)),
                None,
            ),
        ]));
        // A later update of the same vertex completes it; the first start time stays.
        steps.feed(&status(vec![stamped(
            vertex("b", "[stage-1 2/3] RUN make"),
            Some((11, 0)),
            Some((12, 750_000_000)),
        )]));
        // A step still running when the stream ended has no duration.
        steps.feed(&status(vec![vertex("c", "[3/3] RUN sleep 9")]));
        steps.feed(&status(vec![vertex("e", "exporting to image")]));
        assert_eq!(
            steps.finish(),
            [
                BuildStep {
                    position: "1/3".into(),
                    instruction: "COPY busybox /bin/busybox".into(),
                    cached: true,
                    seconds: 0.001
                },
                BuildStep {
                    position: "stage-1 2/3".into(),
                    instruction: "RUN make".into(),
                    cached: false,
                    seconds: 2.25
                },
                BuildStep {
                    position: "3/3".into(),
                    instruction: "RUN sleep 9".into(),
                    cached: false,
                    seconds: 0.0
                },
            ]
        );
    }

    #[test]
    fn classic_steps_last_until_the_next_and_using_cache_marks_them() {
        let t0 = Instant::now();
        let mut steps = ClassicSteps::default();
        steps.feed("Step 1/3 : FROM scratch", t0);
        steps.feed(" ---> abc", t0);
        steps.feed("Step 2/3 : COPY busybox /bin/busybox", t0);
        steps.feed(" ---> Using cache", t0);
        steps.feed("Step 3/3 : RUN make", t0 + Duration::from_millis(250));
        steps.feed(" ---> Running in 123", t0 + Duration::from_millis(300));
        let steps = steps.finish(t0 + Duration::from_millis(1750));
        let summary: Vec<_> = steps
            .iter()
            .map(|s| {
                (
                    s.position.as_str(),
                    s.instruction.as_str(),
                    s.cached,
                    s.seconds,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("1/3", "FROM scratch", false, 0.0),
                ("2/3", "COPY busybox /bin/busybox", true, 0.25),
                ("3/3", "RUN make", false, 1.5),
            ]
        );
    }

    #[test]
    fn vertex_names_split_into_position_counts_and_instruction() {
        assert_eq!(
            parse_vertex_name("[stage-1 2/5] RUN make"),
            Some(("stage-1 2/5", 2, 5, "RUN make"))
        );
        assert_eq!(parse_vertex_name("[internal] load .dockerignore"), None);
        assert_eq!(parse_vertex_name("exporting to image"), None);
    }
}
