//! Every container dorun creates is short-lived: it is named before it exists, recorded in a
//! process-wide set, and removed by a drop guard — or by [`Engine::remove_live_containers`]
//! from a Ctrl-C handler while workers are still waiting on them.
//!
//! Naming first (rather than recording the id the engine returns) closes the window between
//! "created" and "recorded" in which an interrupt would leak a container.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use std::time::{Duration, Instant};

use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptions, RemoveContainerOptions,
};

use crate::engine::Engine;
use crate::image::is_not_found;

/// The label every dorun container carries, so leftovers can be found (`label=dorun=1`).
pub const DORUN_LABEL: &str = "dorun";

static LIVE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A container name unique across processes and runs (pid alone is reused).
pub(crate) fn fresh_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "dorun-{}-{}-{nanos:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn live() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    // A panic while holding the lock cannot leave the set inconsistent; keep using it.
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes its container when dropped. Created before the container, so no path leaks it.
pub(crate) struct ContainerGuard<'a> {
    engine: &'a Engine,
    pub name: String,
}

impl<'a> ContainerGuard<'a> {
    pub fn new(engine: &'a Engine) -> Self {
        let name = fresh_name();
        live().insert(name.clone());
        ContainerGuard { engine, name }
    }
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        self.engine.remove_container_quietly(&self.name);
        live().remove(&self.name);
    }
}

impl Engine {
    /// Force-removes every container this process created and has not removed yet, then the
    /// networks it made (which can go only once their containers have). Safe to call from a
    /// signal-handling thread while other threads use the engine. Returns the containers'
    /// count.
    pub fn remove_live_containers(&self) -> usize {
        let names: Vec<String> = live().iter().cloned().collect();
        for name in &names {
            self.remove_container_quietly(name);
        }
        self.remove_live_networks();
        names.len()
    }

    /// Names of the containers this process currently holds (for diagnostics and tests).
    pub fn live_containers() -> Vec<String> {
        live().iter().cloned().collect()
    }

    /// Ids of all containers (running or not) carrying `label` (`key` or `key=value`), e.g.
    /// `dorun=1` to find leftovers of a killed dorun.
    pub fn containers_with_label(&self, label: &str) -> crate::Result<Vec<String>> {
        let options = ListContainersOptions {
            all: true,
            filters: Some([("label".to_string(), vec![label.to_string()])].into()),
            ..Default::default()
        };
        let list = self
            .block_on(self.docker.list_containers(Some(options)))
            .map_err(|e| self.err("listing containers", e))?;
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }

    /// Best effort: a container that is already gone is fine, and a cleanup failure must not
    /// hide the error that brought us here.
    pub(crate) fn remove_container_quietly(&self, name: &str) {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.block_on(self.docker.remove_container(name, Some(options))) {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            // The engine is removing it (an auto-removed container that stopped, or a
            // concurrent removal): wait a little, so that "removed" means gone.
            Err(e) if is_removal_in_progress(&e) => self.wait_until_gone(name),
            Err(e) => eprintln!("warning: could not remove container {name}: {e}"),
        }
    }

    fn wait_until_gone(&self, name: &str) {
        let deadline = Instant::now() + REMOVAL_WAIT;
        while Instant::now() < deadline {
            let inspect = self.block_on(
                self.docker
                    .inspect_container(name, None::<InspectContainerOptions>),
            );
            if matches!(&inspect, Err(e) if is_not_found(e)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// How long a removal the engine has in progress may take before we stop watching it.
const REMOVAL_WAIT: Duration = Duration::from_secs(10);

/// A concurrent removal (guard, Ctrl-C handler and the engine's auto-removal racing) answers
/// 409; the container goes.
fn is_removal_in_progress(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError { status_code: 409, message }
            if message.contains("already in progress")
    )
}
