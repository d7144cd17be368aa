//! Health of a detached container, as the engine judges it: a health check dorun sets (a shell
//! command run inside the container every `interval`, unhealthy after `retries` failures in a
//! row) or the image's own `HEALTHCHECK`, and the wait until it says healthy.

use std::time::Duration;

use bollard::models::HealthConfig;

use crate::detached::{ContainerStatus, Detached, POLL};
use crate::error::Result;

/// A health check run inside the container with its `/bin/sh` (the engine's `CMD-SHELL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSpec {
    pub run: String,
    pub interval: Duration,
    /// Failures in a row before the engine calls it unhealthy.
    pub retries: u32,
}

impl HealthSpec {
    pub(crate) fn config(&self) -> HealthConfig {
        let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        HealthConfig {
            test: Some(vec!["CMD-SHELL".into(), self.run.clone()]),
            interval: Some(nanos(self.interval)),
            // A probe may take the engine's default (30 s), not just the interval: on a busy
            // machine an `exec` alone can take longer than a 200 ms interval, and a service
            // whose every probe timed out was called unhealthy though it answered.
            timeout: None,
            retries: Some(self.retries.into()),
            ..Default::default()
        }
    }
}

/// How waiting for a container to become healthy ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Healthy,
    /// The engine gave up on it (its retries failed).
    Unhealthy(ContainerStatus),
    /// It stopped before it became healthy.
    Exited(ContainerStatus),
    /// Neither the image nor dorun set a health check.
    NoHealthCheck,
    /// Still `starting` at the deadline.
    TimedOut(ContainerStatus),
    /// `stop()` said so (Ctrl-C).
    Stopped,
}

impl Detached<'_> {
    /// Waits until the engine reports the container healthy, unhealthy or stopped, at most
    /// `timeout`; `stop` is asked between looks.
    pub fn wait_healthy(&self, timeout: Duration, stop: &dyn Fn() -> bool) -> Result<Readiness> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let status = self.status()?;
            match status.health.as_deref() {
                Some("healthy") => return Ok(Readiness::Healthy),
                // The engine calls a stopped container unhealthy too: say it stopped.
                _ if !status.running => return Ok(Readiness::Exited(status)),
                Some("unhealthy") => return Ok(Readiness::Unhealthy(status)),
                None => return Ok(Readiness::NoHealthCheck),
                Some(_starting) => {}
            }
            if stop() {
                return Ok(Readiness::Stopped);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(Readiness::TimedOut(status));
            }
            std::thread::sleep(POLL);
        }
    }
}
