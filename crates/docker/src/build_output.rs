//! What a build's answer stream says, as [`BuildEvent`]s: lines reassembled from fragments,
//! the classic builder's steps and BuildKit's vertices, and the id of the image built; and
//! the same events with the build's secrets masked.

use bollard::errors::Error as BollardError;
use bollard::models::{BuildInfo, BuildInfoAux};
use futures_util::{Stream, StreamExt};

use crate::build::BuildEvent;
use crate::classic_progress::ClassicSteps;
use crate::secret::Masker;

/// Reads `stream` to its end, giving each event to `emit`; the image id the builder named (in
/// an `aux` item, or a `Successfully built` line), or the stream's error once the lines seen so
/// far are given.
pub(crate) async fn read(
    mut stream: std::pin::Pin<Box<dyn Stream<Item = Result<BuildInfo, BollardError>> + Send + '_>>,
    emit: &mut dyn FnMut(BuildEvent),
) -> Result<Option<String>, BollardError> {
    let mut lines = LineSplitter::default();
    let mut classic = ClassicSteps::default();
    let mut vertices = crate::buildkit_progress::VertexLog::default();
    let mut image_id = None;
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(e) => {
                lines
                    .finish()
                    .into_iter()
                    .flat_map(|line| classic.line(line))
                    .for_each(&mut *emit);
                return Err(e);
            }
        };
        if let Some(text) = info.stream.as_deref() {
            lines
                .push(text)
                .into_iter()
                .flat_map(|line| classic.line(line))
                .for_each(&mut *emit);
        }
        if let Some(status) = info.status {
            classic.line(status).into_iter().for_each(&mut *emit);
        }
        match info.aux {
            Some(BuildInfoAux::Default(image)) => image_id = image.id.or(image_id),
            Some(BuildInfoAux::BuildKit(status)) => {
                vertices.feed(&status).into_iter().for_each(&mut *emit);
            }
            None => {}
        }
    }
    let rest = lines.finish();
    if image_id.is_none() {
        image_id = rest.iter().chain(lines.seen_built.iter()).find_map(|l| {
            l.strip_prefix("Successfully built ")
                .map(|id| id.trim().to_string())
        });
    }
    rest.into_iter()
        .flat_map(|line| classic.line(line))
        .for_each(&mut *emit);
    Ok(image_id)
}

/// `event` with every secret value in it replaced by `***`.
pub(crate) fn mask_event(masker: &Masker, event: BuildEvent) -> BuildEvent {
    if masker.is_empty() {
        return event;
    }
    match event {
        BuildEvent::Step { n, m, text } => BuildEvent::Step {
            n,
            m,
            text: masker.mask(&text).into_owned(),
        },
        BuildEvent::StepFinished {
            n,
            m,
            text,
            cached,
            seconds,
        } => BuildEvent::StepFinished {
            n,
            m,
            text: masker.mask(&text).into_owned(),
            cached,
            seconds,
        },
        BuildEvent::Line(line) => BuildEvent::Line(masker.mask(&line).into_owned()),
    }
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
