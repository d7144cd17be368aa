//! Private networks for a test run with services: made with dorun's labels (so the sweep of a
//! dead run's leftovers finds them), recorded in a process-wide set like live containers (so
//! Ctrl-C removes them), and removed by a drop guard.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptions;

use crate::engine::Engine;
use crate::error::Result;
use crate::image::is_not_found;
use crate::owner::{PROJECT_LABEL, RUN_LABEL};

static LIVE_NETWORKS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    LIVE_NETWORKS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A network this process made; removed when dropped (after the containers on it).
pub struct NetworkGuard<'a> {
    engine: &'a Engine,
    /// The network's name: what a container's network mode names to join it.
    pub name: String,
}

impl Drop for NetworkGuard<'_> {
    fn drop(&mut self) {
        self.engine.remove_network_quietly(&self.name);
        live().remove(&self.name);
    }
}

impl Engine {
    /// Creates a bridge network with dorun's labels and `extra`. `internal`: no route to the
    /// outside (containers on it reach each other only), for tests with `network = "none"`.
    pub fn create_network(
        &self,
        internal: bool,
        extra: BTreeMap<String, String>,
    ) -> Result<NetworkGuard<'_>> {
        // Named (and recorded) before it exists, as containers are: no window for a leak.
        let name = crate::live::fresh_name();
        live().insert(name.clone());
        let guard = NetworkGuard { engine: self, name };
        let request = NetworkCreateRequest {
            name: guard.name.clone(),
            driver: Some("bridge".into()),
            internal: Some(internal),
            labels: Some(self.container_labels(extra)),
            ..Default::default()
        };
        self.block_on(self.docker.create_network(request))
            .map_err(|e| self.err("creating a network", e))?;
        Ok(guard)
    }

    /// Removes every network this process made and has not removed yet (for Ctrl-C; call it
    /// after the containers on them are gone).
    pub fn remove_live_networks(&self) -> usize {
        let names: Vec<String> = live().iter().cloned().collect();
        for name in &names {
            self.remove_network_quietly(name);
        }
        names.len()
    }

    /// Whether the network has no route outside (for tests and diagnostics).
    pub fn network_is_internal(&self, name: &str) -> Result<bool> {
        let inspect = self
            .block_on(self.docker.inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            ))
            .map_err(|e| self.err("inspecting a network", e))?;
        Ok(inspect.internal.unwrap_or(false))
    }

    /// Ids of all networks carrying `label` (`key` or `key=value`).
    pub fn networks_with_label(&self, label: &str) -> Result<Vec<String>> {
        let options = ListNetworksOptions {
            filters: Some([("label".to_string(), vec![label.to_string()])].into()),
        };
        let list = self
            .block_on(self.docker.list_networks(Some(options)))
            .map_err(|e| self.err("listing networks", e))?;
        Ok(list.into_iter().filter_map(|n| n.id).collect())
    }

    /// Removes every network of the owner's project that another run made (a dead run's, by
    /// the same reasoning as [`Engine::remove_containers_of_other_runs`], which must run first:
    /// a network with containers on it cannot be removed). Returns how many.
    pub fn remove_networks_of_other_runs(&self) -> Result<usize> {
        let Some(owner) = &self.owner else {
            return Ok(0);
        };
        let options = ListNetworksOptions {
            filters: Some(
                [(
                    "label".to_string(),
                    vec![format!("{PROJECT_LABEL}={}", owner.project)],
                )]
                .into(),
            ),
        };
        let list = self
            .block_on(self.docker.list_networks(Some(options)))
            .map_err(|e| self.err("listing networks", e))?;
        let mut removed = 0;
        for network in list {
            let run = network.labels.as_ref().and_then(|l| l.get(RUN_LABEL));
            if run == Some(&owner.run) {
                continue;
            }
            if let Some(id) = network.id {
                self.remove_network_quietly(&id);
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Best effort, like container removal: gone is fine, a failure only warns.
    fn remove_network_quietly(&self, name: &str) {
        match self.block_on(self.docker.remove_network(name)) {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => eprintln!("warning: could not remove network {name}: {e}"),
        }
    }
}
