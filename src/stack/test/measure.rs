//! What `test:X` measures of the image it tested with a `measure` table (SPEC §5,
//! `[images.X.measure]`; `record_metrics` writes it to `artifacts/metrics/`): the cold start (container
//! create to ready, median of `runs`) and the memory it uses once ready (peak and average over
//! `duration`, from the engine's stats, in the first run). The measured container runs under
//! the tests' limits and on their network, so a service-backed image finds its services.
use super::case::{tail, CaseResult};
use super::target::Target;
use crate::config::measure::{Measure, Ready};
use crate::stack::metrics_record::Measured;
use crate::stack::runtime::Runtime;
use dorun_docker::{MemoryUse, OutputWait, Readiness};
use std::fmt::Write as _;
use std::time::Duration;

/// The case a measurement adds to the results: it fails when the image never gets ready.
const CASE: &str = "measure";

/// The start and memory numbers of variant `v` (tested as `target.image`) when it has a
/// `measure` table, with the `measure` case; nothing without one. Size, layers and build
/// seconds are every tested image's and come from `record_metrics`.
pub(super) fn measure(
    rt: &Runtime,
    v: usize,
    target: &Target,
    stop: &dyn Fn() -> bool,
) -> (Measured, Option<CaseResult>) {
    let mut numbers = Measured::default();
    let case = rt
        .spec
        .measure_of(rt.variant(v))
        .map(|m| start_and_memory(target, &m, &mut numbers, stop));
    (numbers, case)
}

/// Runs the image `m.runs` times, timing each start and sampling memory in the first.
fn start_and_memory(
    target: &Target,
    m: &Measure,
    numbers: &mut Measured,
    stop: &dyn Fn() -> bool,
) -> CaseResult {
    let case = CaseResult::start(CASE);
    let mut output = String::new();
    for run in 1..=m.runs {
        if stop() {
            return case.fail("interrupted", output);
        }
        match one_run(target, m, run == 1, stop) {
            Ok((seconds, memory)) => {
                let _ = writeln!(output, "run {run}: ready after {seconds:.3}s");
                numbers.start_runs.push(seconds);
                if let Some(memory) = memory {
                    let _ = writeln!(
                        output,
                        "memory over {}: peak {} bytes, average {} bytes ({} samples)",
                        humantime::format_duration(m.duration),
                        memory.peak,
                        memory.average,
                        memory.samples
                    );
                    numbers.memory_peak_bytes = Some(memory.peak);
                    numbers.memory_average_bytes = Some(memory.average);
                }
            }
            Err((why, log)) => {
                output.push_str(&log);
                return case.fail(format!("run {run}: {why}"), output);
            }
        }
    }
    numbers.start_seconds = median(&numbers.start_runs);
    case.pass(output)
}

/// One cold start: seconds from create to ready, and the memory sampled after it (first run).
#[allow(clippy::type_complexity)]
fn one_run(
    target: &Target,
    m: &Measure,
    sample: bool,
    stop: &dyn Fn() -> bool,
) -> Result<(f64, Option<MemoryUse>), (String, String)> {
    let mut spec = target.detached_spec(CASE);
    spec.cmd = m.command.clone();
    let container = target
        .engine
        .start_detached(&spec)
        .map_err(|e| (format!("could not start the image: {e}"), String::new()))?;
    let within = target.limits.timeout;
    let failed = |why: String| {
        let log = tail(&container.log_tail(30), 30, 4096);
        (why, log)
    };
    let ready_after: Duration = match &m.ready {
        None => container.created_at.elapsed(),
        Some(Ready::Output(pattern)) => {
            let re = regex::Regex::new(pattern).expect("checked when tasks.toml was loaded");
            let matches = |line: &str| re.is_match(line);
            match container.wait_for_line(&matches, within) {
                Ok(OutputWait::Matched(after)) => after,
                Ok(OutputWait::Ended) => {
                    return Err(failed(format!(
                        "the output ended before a line matched `{pattern}`"
                    )))
                }
                Ok(OutputWait::TimedOut) => {
                    return Err(failed(format!(
                        "no line matched `{pattern}` within {}",
                        humantime::format_duration(within)
                    )))
                }
                Err(e) => return Err(failed(format!("could not read the output: {e}"))),
            }
        }
        Some(Ready::Health) => match container.wait_healthy(within, stop) {
            Ok(Readiness::Healthy) => container.created_at.elapsed(),
            Ok(Readiness::NoHealthCheck) => {
                return Err(failed(
                    "ready = \"health\" but the image has no HEALTHCHECK".into(),
                ))
            }
            Ok(other) => return Err(failed(format!("not healthy: {other:?}"))),
            Err(e) => return Err(failed(format!("could not read its health: {e}"))),
        },
    };
    let memory = match sample {
        true => container
            .sample_memory(m.duration)
            .map_err(|e| failed(format!("could not read its memory: {e}")))?,
        false => None,
    };
    let seconds = (ready_after.as_secs_f64() * 1000.0).round() / 1000.0;
    Ok((seconds, memory))
}

/// The middle value (the mean of the two middle ones for an even count); None when empty.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
