//! The per-step account of one build ([`BuildStep`]: instruction, cached or not, seconds),
//! gathered from the build's own [`BuildEvent::StepFinished`] events, so that the record and the
//! live progress say the same thing for both builders.

use crate::build::BuildEvent;

/// One Dockerfile step of a finished build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildStep {
    /// Where the step sits: `2/5` (with BuildKit, within its stage).
    pub position: String,
    /// The instruction as the builder shows it (`RUN make`; BuildKit expands build args).
    pub instruction: String,
    /// The builder reused an earlier result (BuildKit `CACHED`, classic `Using cache`).
    pub cached: bool,
    /// How long the step took: BuildKit's own start and completion times; for the classic
    /// builder the time until the next step started (or the build ended). Milliseconds precision.
    pub seconds: f64,
}

/// Collects the finished steps of one build attempt, in the order they finished.
#[derive(Default)]
pub(crate) struct StepRecorder {
    steps: Vec<BuildStep>,
}

impl StepRecorder {
    pub(crate) fn see(&mut self, event: &BuildEvent) {
        if let BuildEvent::StepFinished {
            n,
            m,
            text,
            cached,
            seconds,
        } = event
        {
            self.steps.push(BuildStep {
                position: format!("{n}/{m}"),
                instruction: text.clone(),
                cached: *cached,
                seconds: (seconds * 1000.0).round() / 1000.0,
            });
        }
    }

    pub(crate) fn finish(self) -> Vec<BuildStep> {
        self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_steps_are_recorded_with_their_position() {
        let mut recorder = StepRecorder::default();
        recorder.see(&BuildEvent::Step {
            n: 1,
            m: 2,
            text: "RUN a".into(),
        });
        recorder.see(&BuildEvent::Line("#1 [1/2] RUN a".into()));
        recorder.see(&BuildEvent::StepFinished {
            n: 1,
            m: 2,
            text: "RUN a".into(),
            cached: true,
            seconds: 0.0,
        });
        recorder.see(&BuildEvent::StepFinished {
            n: 2,
            m: 2,
            text: "RUN b".into(),
            cached: false,
            seconds: 1.23456,
        });
        assert_eq!(
            recorder.finish(),
            [
                BuildStep {
                    position: "1/2".into(),
                    instruction: "RUN a".into(),
                    cached: true,
                    seconds: 0.0
                },
                BuildStep {
                    position: "2/2".into(),
                    instruction: "RUN b".into(),
                    cached: false,
                    seconds: 1.235
                }
            ]
        );
    }
}
