//! `[images.X.measure]` and `[stack.measure]` (SPEC §5): how `test:X` measures an image's cold
//! start and memory — the settings as written, checked when tasks.toml is loaded, and the
//! inheritance that makes one `Measure` per variant: the stack's, under each ancestor's, under
//! the image's own, key by key.
use crate::config::resolve::{parse_duration, Locator};
use crate::config::schema::RawMeasure;
use crate::error::Result;
use std::time::Duration;
use toml::Spanned;

/// One `measure` table as written (every key optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeasureSettings {
    pub command: Option<Vec<String>>,
    pub ready: Option<Ready>,
    pub duration: Option<Duration>,
    pub runs: Option<u32>,
}

/// When the measured container counts as started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// A line of its output matches this regex (checked at load).
    Output(String),
    /// The engine reports it healthy (the image's `HEALTHCHECK`).
    Health,
}

/// The measurement of one variant, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// `None`: the image's own command.
    pub command: Option<Vec<String>>,
    /// `None`: started (the engine says running) counts as ready.
    pub ready: Option<Ready>,
    /// How long memory is sampled once it is ready.
    pub duration: Duration,
    /// Cold starts measured; the median is recorded.
    pub runs: u32,
}

pub(crate) const DEFAULT_DURATION: Duration = Duration::from_secs(2);
pub(crate) const DEFAULT_RUNS: u32 = 3;
/// More runs than this is a typo: each starts a container.
const MAX_RUNS: i64 = 100;

impl MeasureSettings {
    /// `self` over `base`, key by key.
    pub fn over(&self, base: &MeasureSettings) -> MeasureSettings {
        MeasureSettings {
            command: self.command.clone().or_else(|| base.command.clone()),
            ready: self.ready.clone().or_else(|| base.ready.clone()),
            duration: self.duration.or(base.duration),
            runs: self.runs.or(base.runs),
        }
    }

    pub fn with_defaults(&self) -> Measure {
        Measure {
            command: self.command.clone(),
            ready: self.ready.clone(),
            duration: self.duration.unwrap_or(DEFAULT_DURATION),
            runs: self.runs.unwrap_or(DEFAULT_RUNS),
        }
    }
}

pub(crate) fn resolve(raw: &Spanned<RawMeasure>, loc: &Locator) -> Result<MeasureSettings> {
    let raw = raw.get_ref();
    let ready = match &raw.ready {
        None => None,
        Some(r) if r.get_ref() == "health" => Some(Ready::Health),
        Some(r) => {
            regex::Regex::new(r.get_ref()).map_err(|e| {
                loc.error(
                    r,
                    format!("invalid ready regex: {e} (or write \"health\" to wait for the health check)"),
                )
            })?;
            Some(Ready::Output(r.get_ref().clone()))
        }
    };
    let runs = match &raw.runs {
        Some(n) if (1..=MAX_RUNS).contains(n.get_ref()) => Some(*n.get_ref() as u32),
        Some(n) => {
            return Err(loc.error(
                n,
                format!("invalid runs `{}`: from 1 to {MAX_RUNS}", n.get_ref()),
            ))
        }
        None => None,
    };
    Ok(MeasureSettings {
        command: raw.command.as_ref().map(super::services::command),
        ready,
        duration: raw
            .duration
            .as_ref()
            .map(|d| parse_duration(d, loc))
            .transpose()?,
        runs,
    })
}
