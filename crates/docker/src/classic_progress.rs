//! The classic builder's text output turned into [`BuildEvent`]s: `Step 2/5 : RUN make` starts a
//! step, the next step (or `Successfully built`) finishes it, and ` ---> Using cache` marks it
//! cached — the same events BuildKit's vertices give (`buildkit_progress.rs`).

use std::time::Instant;

use crate::build::BuildEvent;

/// The step that is running, to be finished by the next one.
#[derive(Default)]
pub(crate) struct ClassicSteps {
    current: Option<Running>,
}

struct Running {
    n: u32,
    m: u32,
    text: String,
    since: Instant,
    cached: bool,
}

impl ClassicSteps {
    /// The events one output line gives, the line itself last but for a step's start, which
    /// comes before its line.
    pub(crate) fn line(&mut self, line: String) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        if let Some(BuildEvent::Step { n, m, text }) = parse_step(&line) {
            out.extend(self.finish());
            self.current = Some(Running {
                n,
                m,
                text: text.clone(),
                since: Instant::now(),
                cached: false,
            });
            out.push(BuildEvent::Step { n, m, text });
        } else if line.starts_with(" ---> Using cache") {
            if let Some(running) = &mut self.current {
                running.cached = true;
            }
        } else if line.starts_with("Successfully built ") {
            out.extend(self.finish());
        }
        out.push(BuildEvent::Line(line));
        out
    }

    fn finish(&mut self) -> Option<BuildEvent> {
        let done = self.current.take()?;
        Some(BuildEvent::StepFinished {
            n: done.n,
            m: done.m,
            text: done.text,
            cached: done.cached,
            seconds: done.since.elapsed().as_secs_f64(),
        })
    }
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
    fn each_step_is_finished_by_the_next_and_the_last_by_success() {
        let mut steps = ClassicSteps::default();
        let mut events = Vec::new();
        for line in [
            "Step 1/2 : FROM base",
            " ---> Using cache",
            "Step 2/2 : RUN make",
            " ---> Running in abc",
            "Successfully built 1234",
        ] {
            events.extend(steps.line(line.into()));
        }
        let finished: Vec<(u32, bool)> = events
            .iter()
            .filter_map(|e| match e {
                BuildEvent::StepFinished { n, cached, .. } => Some((*n, *cached)),
                _ => None,
            })
            .collect();
        assert_eq!(finished, [(1, true), (2, false)]);
        // A step starts before its own line is logged.
        assert_eq!(
            events[0],
            BuildEvent::Step {
                n: 1,
                m: 2,
                text: "FROM base".into()
            }
        );
        assert_eq!(events[1], BuildEvent::Line("Step 1/2 : FROM base".into()));
    }
}
