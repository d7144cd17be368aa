//! BuildKit's status stream (vertices, their logs) turned into [`BuildEvent`]s: the lines read
//! like `docker build --progress plain`, and a vertex named `[2/5] RUN make` is a step.

use std::collections::HashMap;

use bollard::moby::buildkit::v1::StatusResponse;

use crate::build::BuildEvent;

/// What was already said about each vertex, so that repeated status updates print once.
#[derive(Default)]
pub(crate) struct VertexLog {
    /// Vertex digest -> its number in the plain output (`#3`), in order of first sight.
    numbers: HashMap<String, usize>,
    started: HashMap<String, bool>,
    finished: HashMap<String, bool>,
}

impl VertexLog {
    /// The events one status message adds.
    pub(crate) fn feed(&mut self, status: &StatusResponse) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        for vertex in &status.vertexes {
            let next = self.numbers.len() + 1;
            let n = *self.numbers.entry(vertex.digest.clone()).or_insert(next);
            if vertex.started.is_some() || vertex.cached {
                let first = !self
                    .started
                    .insert(vertex.digest.clone(), true)
                    .unwrap_or(false);
                if first {
                    if let Some(step) = parse_vertex_step(&vertex.name) {
                        out.push(step);
                    }
                    out.push(BuildEvent::Line(format!("#{n} {}", vertex.name)));
                }
            }
            let done = vertex.completed.is_some() || !vertex.error.is_empty();
            if done
                && !self
                    .finished
                    .insert(vertex.digest.clone(), true)
                    .unwrap_or(false)
            {
                let verdict = if !vertex.error.is_empty() {
                    format!("ERROR: {}", vertex.error)
                } else if vertex.cached {
                    "CACHED".to_string()
                } else {
                    "DONE".to_string()
                };
                out.push(BuildEvent::Line(format!("#{n} {verdict}")));
            }
        }
        for log in &status.logs {
            let next = self.numbers.len() + 1;
            let n = *self.numbers.entry(log.vertex.clone()).or_insert(next);
            let text = String::from_utf8_lossy(&log.msg);
            for line in text.lines() {
                out.push(BuildEvent::Line(format!("#{n} {line}")));
            }
        }
        out
    }
}

/// `[2/5] RUN make` or `[stage-1 2/5] RUN make` -> step 2 of 5; internal vertices
/// (`[internal] load .dockerignore`) are no step.
pub(crate) fn parse_vertex_step(name: &str) -> Option<BuildEvent> {
    let (_, n, m, text) = crate::build_steps::parse_vertex_name(name)?;
    Some(BuildEvent::Step {
        n,
        m,
        text: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::{Vertex, VertexLog as Log};

    #[test]
    fn vertex_names_parse_as_steps() {
        assert_eq!(
            parse_vertex_step("[stage-1 2/5] RUN make"),
            Some(BuildEvent::Step {
                n: 2,
                m: 5,
                text: "RUN make".into()
            })
        );
        assert_eq!(parse_vertex_step("[internal] load .dockerignore"), None);
    }

    #[test]
    fn a_vertex_is_reported_once_with_its_logs_and_verdict() {
        let vertex = |completed: bool| Vertex {
            digest: "sha256:a".into(),
            name: "[1/2] RUN echo hi".into(),
            started: Some(Default::default()),
            completed: completed.then(Default::default),
            ..Default::default()
        };
        let mut log = VertexLog::default();
        let first = log.feed(&StatusResponse {
            vertexes: vec![vertex(false)],
            logs: vec![Log {
                vertex: "sha256:a".into(),
                msg: b"hi\n".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(
            first,
            [
                BuildEvent::Step {
                    n: 1,
                    m: 2,
                    text: "RUN echo hi".into()
                },
                BuildEvent::Line("#1 [1/2] RUN echo hi".into()),
                BuildEvent::Line("#1 hi".into()),
            ]
        );
        let second = log.feed(&StatusResponse {
            vertexes: vec![vertex(true)],
            ..Default::default()
        });
        assert_eq!(second, [BuildEvent::Line("#1 DONE".into())]);
    }
}
