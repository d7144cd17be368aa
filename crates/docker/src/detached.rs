//! A container started in the background and left running — a test's service, an image whose
//! health is checked, an image being measured — until its handle is dropped, which removes it.
//! It is named and recorded before it exists (see `live`), so Ctrl-C and the sweep of a dead
//! run's leftovers cover it like any test container. What can be asked of it while it runs
//! (health, output, memory) lives in `health`, `output` and `memory`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig};
use bollard::query_parameters::{CreateContainerOptions, InspectContainerOptions};

use crate::container::Limits;
use crate::engine::Engine;
use crate::error::{DockerError, Result};
use crate::health::HealthSpec;
use crate::live::ContainerGuard;

/// What to start.
#[derive(Debug, Clone, PartialEq)]
pub struct DetachedSpec {
    pub image: String,
    /// `None`: the image's own command; `Some(argv)` replaces it (the entrypoint stays).
    pub cmd: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    /// Memory, CPUs, tmpfs mounts; `network` names the network mode (a network's name joins it).
    pub limits: Limits,
    /// Names other containers on `limits.network` reach this one by.
    pub aliases: Vec<String>,
    /// `None`: the image's own `HEALTHCHECK`, if it has one.
    pub health: Option<HealthSpec>,
    /// Extra labels; `dorun=1` and the owner's are always added.
    pub labels: BTreeMap<String, String>,
}

impl DetachedSpec {
    pub fn new(image: impl Into<String>) -> DetachedSpec {
        DetachedSpec {
            image: image.into(),
            cmd: None,
            env: BTreeMap::new(),
            limits: Limits::default(),
            aliases: Vec::new(),
            health: None,
            labels: BTreeMap::new(),
        }
    }
}

/// A running container; removed (forcibly, with its anonymous volumes) when dropped.
pub struct Detached<'a> {
    pub(crate) engine: &'a Engine,
    guard: ContainerGuard<'a>,
    /// When dorun asked the engine to create it: the start of a cold-start measurement.
    pub created_at: Instant,
}

impl Detached<'_> {
    /// The container's name (dorun's, `dorun-<pid>-…`).
    pub fn name(&self) -> &str {
        &self.guard.name
    }
}

/// How a detached container stands, from the engine's inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    pub running: bool,
    /// Set once it stopped.
    pub exit_code: Option<i64>,
    /// `starting`, `healthy`, `unhealthy`; `None` without a health check.
    pub health: Option<String>,
    /// The health check's last output, when it has run.
    pub health_output: Option<String>,
    /// `running`, `exited`, … as the engine says.
    pub state: String,
}

impl Engine {
    /// Creates and starts `spec` in the background. The handle removes it when dropped.
    pub fn start_detached(&self, spec: &DetachedSpec) -> Result<Detached<'_>> {
        let guard = ContainerGuard::new(self);
        let created_at = Instant::now();
        let body = create_body(self, spec);
        let options = CreateContainerOptions {
            name: Some(guard.name.clone()),
            ..Default::default()
        };
        self.block_on(self.docker.create_container(Some(options), body))
            .map_err(|e| match crate::image::is_not_found(&e) {
                true => DockerError::ImageNotFound {
                    reference: spec.image.clone(),
                },
                false => self.err("creating a container", e),
            })?;
        self.block_on(self.docker.start_container(
            &guard.name,
            None::<bollard::query_parameters::StartContainerOptions>,
        ))
        .map_err(|e| self.err("starting a container", e))?;
        Ok(Detached {
            engine: self,
            guard,
            created_at,
        })
    }
}

impl Detached<'_> {
    /// The container's state and health now.
    pub fn status(&self) -> Result<ContainerStatus> {
        let engine = self.engine;
        let inspect = engine
            .block_on(
                engine
                    .docker
                    .inspect_container(self.name(), None::<InspectContainerOptions>),
            )
            .map_err(|e| engine.err("inspecting a container", e))?;
        let state = inspect.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        let health = state.health.as_ref();
        let status = health
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty() && s != "none");
        let health_output = health
            .and_then(|h| h.log.as_ref())
            .and_then(|log| log.last())
            .and_then(|last| last.output.clone());
        Ok(ContainerStatus {
            running,
            exit_code: (!running).then_some(state.exit_code).flatten(),
            health: status,
            health_output,
            state: state.status.map(|s| s.to_string()).unwrap_or_default(),
        })
    }
}

fn create_body(engine: &Engine, spec: &DetachedSpec) -> ContainerCreateBody {
    let networking_config = match (&spec.limits.network, spec.aliases.is_empty()) {
        (Some(network), false) => Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                EndpointSettings {
                    aliases: Some(spec.aliases.clone()),
                    ..Default::default()
                },
            )])),
        }),
        _ => None,
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.cmd.clone(),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(engine.container_labels(spec.labels.clone())),
        healthcheck: spec.health.as_ref().map(HealthSpec::config),
        networking_config,
        host_config: Some(host_config(&spec.limits)),
        ..Default::default()
    }
}

/// The engine's form of `limits` (shared with [`Engine::run`]'s containers).
pub(crate) fn host_config(limits: &Limits) -> HostConfig {
    HostConfig {
        memory: limits.memory_bytes,
        nano_cpus: limits.nano_cpus,
        network_mode: limits.network.clone(),
        tmpfs: (!limits.tmpfs.is_empty()).then(|| tmpfs_mounts(&limits.tmpfs)),
        ..Default::default()
    }
}

/// `/tmp:size=64m` → (`/tmp`, `size=64m`), as `docker run --tmpfs` reads it.
pub fn tmpfs_mounts(specs: &[String]) -> HashMap<String, String> {
    specs
        .iter()
        .map(|s| match s.split_once(':') {
            Some((path, options)) => (path.to_string(), options.to_string()),
            None => (s.clone(), String::new()),
        })
        .collect()
}

/// How long to wait between two looks at a container that is getting ready.
pub(crate) const POLL: Duration = Duration::from_millis(100);
