//! Memory a running container uses, sampled from the engine's stats stream (about one sample a
//! second) for a while: its peak and its average. "Used" is counted as `docker stats` does:
//! the cgroup's usage less the inactive file cache the kernel can drop at will
//! (`inactive_file` on cgroup v2, `total_inactive_file` on v1), so reading big files does not
//! look like memory use; tmpfs files (shared memory) stay counted.

use std::time::{Duration, Instant};

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures_util::StreamExt;

use crate::detached::Detached;
use crate::error::Result;

/// What the samples say, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    pub peak: u64,
    pub average: u64,
    pub samples: usize,
}

impl Detached<'_> {
    /// Samples its memory for `duration` (at least one sample, unless it stopped first: then
    /// `None`).
    pub fn sample_memory(&self, duration: Duration) -> Result<Option<MemoryUse>> {
        let engine = self.engine;
        let options = StatsOptions {
            stream: true,
            one_shot: false,
        };
        let until = Instant::now() + duration;
        let used: Vec<u64> = engine.block_on(async {
            let mut stats = engine.docker.stats(self.name(), Some(options));
            let mut used = Vec::new();
            loop {
                let left = until.saturating_duration_since(Instant::now());
                // Past the deadline, wait only for a first sample.
                let wait = match used.is_empty() {
                    true => left.max(Duration::from_secs(5)),
                    false => left,
                };
                match tokio::time::timeout(wait, stats.next()).await {
                    Ok(Some(Ok(sample))) => used.extend(used_bytes(&sample)),
                    Ok(Some(Err(e))) => return Err(engine.err("reading a container's stats", e)),
                    Ok(None) | Err(_) => return Ok(used),
                }
                if Instant::now() >= until && !used.is_empty() {
                    return Ok(used);
                }
            }
        })?;
        if used.is_empty() {
            return Ok(None);
        }
        Ok(Some(MemoryUse {
            peak: used.iter().copied().max().unwrap_or(0),
            average: used.iter().sum::<u64>() / used.len() as u64,
            samples: used.len(),
        }))
    }
}

/// Bytes in use in one sample; `None` for a sample of a stopped container (no usage).
fn used_bytes(sample: &ContainerStatsResponse) -> Option<u64> {
    let memory = sample.memory_stats.as_ref()?;
    let usage = memory.usage?;
    let stats = memory.stats.as_ref();
    let cache = stats
        .and_then(|s| {
            s.get("inactive_file")
                .or_else(|| s.get("total_inactive_file"))
        })
        .copied()
        .unwrap_or(0);
    Some(usage.saturating_sub(cache))
}
