//! `[stack] published-memory` (`DORUN_PUBLISHED_MEMORY`): how long this machine trusts, without
//! asking again, that the registry holds an identity's content tag it saw there (a duration,
//! default 24h, or `off`: ask every run). Only a tag that was there is remembered: an absent
//! one can be pushed by another job at any time, while a content tag names one identity, so
//! it only goes away when someone deletes it. `list` alone also trusts, for as long, the human
//! and stable tags of pushes as this machine last saw them (`stack::moving_tags`).
use crate::config::resolve::{duration, Locator};
use crate::error::{Error, Result};
use std::time::Duration;
use toml::Spanned;

pub(crate) const KEY: &str = "published-memory";
pub(crate) const ENV_VAR: &str = "DORUN_PUBLISHED_MEMORY";
/// The default: a day.
pub(crate) const DEFAULT: Duration = Duration::from_secs(24 * 3600);

/// The setting: the environment's value (read here), else tasks.toml's, else a day. `ZERO`
/// is `off`.
pub(crate) fn resolve(written: Option<&Spanned<String>>, loc: &Locator) -> Result<Duration> {
    resolve_with_env(written, std::env::var(ENV_VAR).ok(), loc)
}

fn resolve_with_env(
    written: Option<&Spanned<String>>,
    from_env: Option<String>,
    loc: &Locator,
) -> Result<Duration> {
    if let Some(env) = from_env {
        return parse(&env)
            .map_err(|why| Error::Usage(format!("{ENV_VAR}=`{env}` is invalid: {why}")));
    }
    match written {
        None => Ok(DEFAULT),
        Some(w) => parse(w.get_ref())
            .map_err(|why| loc.error(w, format!("invalid {KEY} `{}`: {why}", w.get_ref()))),
    }
}

fn parse(text: &str) -> std::result::Result<Duration, String> {
    match text.trim() {
        "off" => Ok(Duration::ZERO),
        other => duration(other).map_err(|why| {
            format!("{why} (use a duration such as 24h, 30m or 7d, or `off` to ask every run)")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_off_parse_and_the_environment_wins() {
        assert_eq!(parse("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse("off"), Ok(Duration::ZERO));
        assert!(parse("0s").unwrap_err().contains("`off`"));
        assert!(parse("soon").is_err());
        let loc = Locator::new(std::path::Path::new("tasks.toml"), "");
        assert_eq!(resolve_with_env(None, None, &loc).unwrap(), DEFAULT);
        let from_env = resolve_with_env(None, Some("off".into()), &loc).unwrap();
        assert_eq!(from_env, Duration::ZERO);
        let bad = resolve_with_env(None, Some("never".into()), &loc).unwrap_err();
        assert!(bad.to_string().contains(ENV_VAR), "{bad}");
    }
}
