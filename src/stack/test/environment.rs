//! The environment one test run of an image needs (SPEC §5, `test.services`): a private network
//! and the service containers on it, each reachable by its name, ready before the first test
//! and removed after the last — also on a failure, Ctrl-C (they are live containers, see
//! `dorun_docker::Engine::remove_live_containers`) or, for a killed dorun, by the next run's
//! sweep. `network = "none"` makes the network internal: the services, and nothing outside.
use super::case::{tail, CaseResult};
use crate::config::services::{Service, ServiceImage};
use crate::exec::work::TaskError;
use crate::stack::runtime::Runtime;
use dorun_docker::{Detached, DetachedSpec, Engine, HealthSpec, Limits, NetworkGuard, Readiness};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::time::Duration;

/// How many lines of a failed service's output the failure shows.
const LOG_TAIL_LINES: usize = 30;

/// Running services and their network. Fields drop in order: the services, then the network
/// (which the engine removes only once nothing is on it).
pub(super) struct Environment<'a> {
    _services: Vec<Detached<'a>>,
    network: NetworkGuard<'a>,
}

impl Environment<'_> {
    /// The network the tested containers join.
    pub(super) fn network(&self) -> &str {
        &self.network.name
    }
}

/// What starting the services of one variant gave.
pub(super) enum Started<'a> {
    /// No services: the tests run as before.
    None,
    Ready(Environment<'a>),
    /// A service could not start or never became healthy: the tests cannot run.
    Failed(CaseResult),
}

/// The engine's reference of each service's image: a stack image's content reference (fetched
/// from where an earlier job handed it off, if need be), or the external reference.
fn image_of(
    rt: &Runtime,
    v: usize,
    service: &Service,
    log: &mut File,
) -> Result<String, TaskError> {
    match rt.spec.service_variant(rt.variant(v), &service.image) {
        Some(sv) => {
            crate::stack::hand_off::ensure_local(rt, sv, log)?;
            Ok(rt.facts(sv)?.content.to_string())
        }
        None => match &service.image {
            ServiceImage::External(reference) => Ok(reference.clone()),
            ServiceImage::Stack { image, .. } => Err(TaskError::new(format!(
                "service image `{image}` is not in the stack"
            ))),
        },
    }
}

/// Starts the services of variant `v` on a fresh network and waits until each is ready.
#[allow(clippy::too_many_arguments)]
pub(super) fn start<'a>(
    rt: &Runtime,
    engine: &'a Engine,
    v: usize,
    internal: bool,
    ready_within: Duration,
    labels: &BTreeMap<String, String>,
    stop: &dyn Fn() -> bool,
    log: &mut File,
) -> Result<Started<'a>, TaskError> {
    let services = rt.spec.services_of(rt.variant(v));
    if services.is_empty() {
        return Ok(Started::None);
    }
    let network = engine
        .create_network(internal, labels.clone())
        .map_err(TaskError::from)?;
    let _ = writeln!(
        log,
        "services on network {}{}",
        network.name,
        match internal {
            true => " (internal: no outside network)",
            false => "",
        }
    );
    let mut started = Vec::new();
    for (name, service) in &services {
        let case = CaseResult::start(format!("service {name}"));
        let image = image_of(rt, v, service, log)?;
        let _ = writeln!(log, "starting service {name} ({image})");
        let mut spec = DetachedSpec::new(image.clone());
        spec.cmd = service.command.clone();
        spec.env = service.env.clone();
        spec.limits = Limits {
            memory_bytes: service.memory_bytes,
            nano_cpus: service.cpus.map(|c| (c * 1e9).round() as i64),
            network: Some(network.name.clone()),
            tmpfs: service.tmpfs.clone(),
        };
        spec.aliases = vec![name.clone()];
        spec.health = service.health.as_ref().map(|h| HealthSpec {
            run: h.run.clone(),
            interval: h.interval,
            retries: h.retries,
        });
        spec.labels = labels.clone();
        spec.labels.insert("dorun.service".into(), name.clone());
        let container = match engine.start_detached(&spec) {
            Ok(c) => c,
            Err(e) if !e.is_environment() => {
                let why = format!("service `{name}` ({image}) could not start: {e}");
                return Ok(Started::Failed(case.fail(why, String::new())));
            }
            Err(e) => return Err(TaskError::from(e)),
        };
        let readiness = container
            .wait_healthy(ready_within, stop)
            .map_err(TaskError::from)?;
        let why = match readiness {
            Readiness::Healthy | Readiness::NoHealthCheck => None,
            Readiness::Stopped => return Err(TaskError::new("interrupted")),
            Readiness::Unhealthy(s) => Some(format!(
                "service `{name}` never became healthy (the engine says unhealthy{})",
                s.health_output
                    .map(|o| format!("; last check: {}", o.trim()))
                    .unwrap_or_default()
            )),
            Readiness::Exited(s) => Some(format!(
                "service `{name}` stopped before it was ready (exit code {})",
                s.exit_code.unwrap_or(-1)
            )),
            Readiness::TimedOut(s) => Some(format!(
                "service `{name}` was not healthy within {} (still {})",
                humantime::format_duration(ready_within),
                s.health.unwrap_or(s.state)
            )),
        };
        if let Some(why) = why {
            let output = tail(&container.log_tail(LOG_TAIL_LINES), LOG_TAIL_LINES, 4096);
            let _ = writeln!(log, "{why}; its last output:\n{output}");
            return Ok(Started::Failed(case.fail(why, output)));
        }
        let _ = writeln!(log, "service {name} is ready");
        started.push(container);
    }
    Ok(Started::Ready(Environment {
        _services: started,
        network,
    }))
}
