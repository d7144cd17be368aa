//! How long dorun waits for the registry and the engine before it calls them unavailable
//! (exit 3): `DORUN_REGISTRY_TIMEOUT` and `DORUN_ENGINE_TIMEOUT`, durations such as `30s`,
//! `2m`, `500ms`, or plain seconds.
use crate::error::{Error, Result};
use std::time::Duration;

/// The deadlines of one dorun process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadlines {
    /// One registry request, connection to last byte.
    pub registry: Duration,
    /// One engine request, until its answer starts (builds and test runs have their own).
    pub engine: Duration,
}

pub(crate) const REGISTRY_VAR: &str = "DORUN_REGISTRY_TIMEOUT";
pub(crate) const ENGINE_VAR: &str = "DORUN_ENGINE_TIMEOUT";

impl Deadlines {
    /// From the environment; a value that is not a positive duration is bad usage (exit 2).
    pub(crate) fn from_env() -> Result<Deadlines> {
        let read = |var: &str, default: Duration| match std::env::var(var) {
            Ok(text) if !text.trim().is_empty() => parse(var, &text),
            _ => Ok(default),
        };
        Ok(Deadlines {
            registry: read(REGISTRY_VAR, dorun_docker::DEFAULT_REGISTRY_TIMEOUT)?,
            engine: read(ENGINE_VAR, dorun_docker::DEFAULT_REQUEST_TIMEOUT)?,
        })
    }
}

fn parse(var: &str, text: &str) -> Result<Duration> {
    let text = text.trim();
    let parsed = match text.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(text).map_err(|e| e.to_string()),
    };
    match parsed {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(Error::Usage(format!(
            "{var}={text}: the deadline must be more than 0"
        ))),
        Err(why) => Err(Error::Usage(format!(
            "{var}={text} is not a duration ({why}); write e.g. 30s, 2m or a number of seconds"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_plain_seconds() {
        assert_eq!(parse("X", "30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("X", " 2m ").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("X", "500ms").unwrap(), Duration::from_millis(500));
    }

    #[test]
    fn bad_values_are_usage_errors_naming_the_variable() {
        for bad in ["soon", "0", "-1", "0s"] {
            let e = parse(REGISTRY_VAR, bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().starts_with("DORUN_REGISTRY_TIMEOUT="), "{e}");
        }
    }
}
