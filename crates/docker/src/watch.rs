//! Watching a run container that the engine removes by itself once it stops (`AutoRemove`):
//! its output through an attach made before the start, and its exit code from the engine's
//! `die` event, asked for with `since` in the past so that the engine replays it even when
//! the container is over (and gone) before we listen.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use futures_util::{Stream, StreamExt};

/// What bollard answers.
pub(crate) type Bollard<T> = std::result::Result<T, bollard::errors::Error>;

/// How long, once the container stopped (or was killed), dorun waits for the rest of its
/// output and its exit event.
pub(crate) const DRAIN: Duration = Duration::from_secs(10);

/// How far back the exit-event query reaches, covering clock skew with a remote engine.
const EVENTS_SINCE: Duration = Duration::from_secs(300);

/// The `die` events of container `id`, replayed from a little before now.
pub(crate) fn exit_events(id: &str) -> EventsOptions {
    let since = std::time::SystemTime::now()
        .checked_sub(EVENTS_SINCE)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    EventsOptions {
        since: Some(since.to_string()),
        until: None,
        filters: Some(HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("container".to_string(), vec![id.to_string()]),
            ("event".to_string(), vec!["die".to_string()]),
        ])),
    }
}

/// The exit code of the next `die` event; `None` when the stream ends first.
pub(crate) async fn next_exit(
    exits: &mut (impl Stream<Item = Bollard<EventMessage>> + Unpin),
) -> Bollard<Option<i64>> {
    while let Some(event) = exits.next().await {
        let event = event?;
        let code = event
            .actor
            .and_then(|a| a.attributes)
            .and_then(|a| a.get("exitCode").and_then(|c| c.parse().ok()));
        if let Some(code) = code {
            return Ok(Some(code));
        }
    }
    Ok(None)
}

#[derive(Default)]
pub(crate) struct Collected {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Appends the container's output to `into` until it ends.
pub(crate) async fn collect(
    mut output: Pin<Box<dyn Stream<Item = Bollard<LogOutput>> + Send>>,
    into: Arc<Mutex<Collected>>,
) {
    while let Some(Ok(item)) = output.next().await {
        let mut c = into.lock().unwrap_or_else(|p| p.into_inner());
        match item {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                c.stdout.extend_from_slice(&message)
            }
            LogOutput::StdErr { message } => c.stderr.extend_from_slice(&message),
            LogOutput::StdIn { .. } => {}
        }
    }
}
