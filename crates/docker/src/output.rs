//! What a detached container printed: the last lines (to explain a failure) and the wait for a
//! line that says it is ready (a measurement's `ready` pattern), both from the engine's logs.

use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;

use crate::detached::Detached;
use crate::error::Result;

/// How a wait for a ready line ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputWait {
    /// A line matched, this long after the container was created.
    Matched(Duration),
    /// The output ended (the container stopped) without a match.
    Ended,
    TimedOut,
}

impl Detached<'_> {
    /// The last `lines` lines of its stdout and stderr, interleaved as written.
    pub fn log_tail(&self, lines: usize) -> String {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let engine = self.engine;
        engine.block_on(async {
            let mut logs = engine.docker.logs(self.name(), Some(options));
            let mut text = Vec::new();
            while let Some(Ok(item)) = logs.next().await {
                text.extend_from_slice(bytes_of(&item));
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    }

    /// Follows its output (from the start) until a line satisfies `ready`, the output ends or
    /// `timeout` passes.
    pub fn wait_for_line(
        &self,
        ready: &(dyn Fn(&str) -> bool + Sync),
        timeout: Duration,
    ) -> Result<OutputWait> {
        let options = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let engine = self.engine;
        let follow = async {
            let mut logs = engine.docker.logs(self.name(), Some(options));
            let mut pending = Vec::new();
            while let Some(item) = logs.next().await {
                let item = item.map_err(|e| engine.err("reading a container's output", e))?;
                pending.extend_from_slice(bytes_of(&item));
                // Whole lines only; the last piece waits for its newline (or the end).
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    if ready(String::from_utf8_lossy(&line).trim_end()) {
                        return Ok(OutputWait::Matched(self.created_at.elapsed()));
                    }
                }
            }
            match ready(String::from_utf8_lossy(&pending).trim_end()) {
                true if !pending.is_empty() => Ok(OutputWait::Matched(self.created_at.elapsed())),
                _ => Ok(OutputWait::Ended),
            }
        };
        let deadline = Instant::now() + timeout;
        engine.block_on(async {
            match tokio::time::timeout_at(deadline.into(), follow).await {
                Ok(result) => result,
                Err(_elapsed) => Ok(OutputWait::TimedOut),
            }
        })
    }
}

fn bytes_of(item: &LogOutput) -> &[u8] {
    match item {
        LogOutput::StdOut { message }
        | LogOutput::StdErr { message }
        | LogOutput::Console { message }
        | LogOutput::StdIn { message } => message,
    }
}
