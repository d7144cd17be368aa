//! One step of a task's progress — a Docker build's `[2/5] RUN make`, a test file — as a task
//! reports it and the reporters show it (the TTY bar's message, plain mode's step lines).

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    /// 1-based position and count (`[n/m]`).
    pub n: usize,
    pub m: usize,
    /// What the step does: the Dockerfile instruction, the test file.
    pub text: String,
    pub phase: StepPhase,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StepPhase {
    Started,
    /// Taken from the builder's cache, or done in `seconds`.
    Finished {
        cached: bool,
        seconds: f64,
    },
}

impl Step {
    pub(crate) fn started(n: usize, m: usize, text: &str) -> Step {
        Step {
            n,
            m,
            text: text.to_string(),
            phase: StepPhase::Started,
        }
    }
}
