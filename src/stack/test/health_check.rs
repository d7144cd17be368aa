//! The `health` check of checks.toml (SPEC §5): the image's default command, started detached
//! under the image's test limits, must be reported healthy by the engine (the image's own
//! `HEALTHCHECK`) within the timeout. An image without a `HEALTHCHECK` fails with that said.
use super::case::{tail, CaseResult};
use super::checks::HealthCheck;
use super::target::Target;
use dorun_docker::Readiness;

/// Lines of the container's output a failure shows.
const LOG_TAIL_LINES: usize = 30;

pub(super) fn health(
    target: &Target,
    name: &str,
    check: &HealthCheck,
    stop: &dyn Fn() -> bool,
) -> CaseResult {
    let case = CaseResult::start(name);
    let spec = target.detached_spec(name);
    let container = match target.engine.start_detached(&spec) {
        Ok(c) => c,
        Err(e) => {
            return case.fail(
                format!("could not start the image's command: {e}"),
                String::new(),
            )
        }
    };
    let readiness = match container.wait_healthy(check.timeout, stop) {
        Ok(r) => r,
        Err(e) => {
            return case.fail(
                format!("could not read the container's health: {e}"),
                String::new(),
            )
        }
    };
    let within = humantime::format_duration(check.timeout);
    let why = match readiness {
        Readiness::Healthy => {
            let after = container.created_at.elapsed().as_secs_f64();
            return case.pass(format!("healthy after {after:.1}s\n"));
        }
        Readiness::NoHealthCheck => {
            return case.fail(
                "the image has no HEALTHCHECK: add one to its Dockerfile (HEALTHCHECK CMD …), or remove the health check",
                String::new(),
            )
        }
        Readiness::Stopped => "interrupted".to_string(),
        Readiness::Unhealthy(s) => format!(
            "unhealthy{}",
            s.health_output
                .map(|o| format!(" (last check: {})", o.trim()))
                .unwrap_or_default()
        ),
        Readiness::Exited(s) => format!(
            "the command stopped (exit code {}) before it was healthy",
            s.exit_code.unwrap_or(-1)
        ),
        Readiness::TimedOut(s) => format!(
            "not healthy within {within} (still {})",
            s.health.unwrap_or(s.state)
        ),
    };
    let output = tail(&container.log_tail(LOG_TAIL_LINES), LOG_TAIL_LINES, 4096);
    case.fail(why, output)
}
