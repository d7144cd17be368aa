//! `[stack] hand-off` (`DORUN_HAND_OFF`) and `staging-namespace`: how images travel from one CI
//! job to the next (SPEC §4) — through a staging repository of the registry, through image
//! archives in the artifacts directory, or not at all (every phase on one machine).
use super::choice::Choice;
use crate::config::resolve::Locator;
use crate::error::Result;
use toml::Spanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandOff {
    /// Later phases find images in the local engine only.
    None,
    /// `build:X` pushes X under its content tag to `<registry>/<staging-namespace>/<image>`;
    /// later phases pull from there, and push promotes the staged manifest.
    Registry,
    /// `build:X` exports X to `<artifacts>/images/<name>[@plan].tar`; later phases import it.
    Archive,
}

pub(crate) const HAND_OFF: Choice<HandOff> = Choice {
    key: "hand-off",
    env_var: "DORUN_HAND_OFF",
    words: &[
        ("none", HandOff::None),
        ("registry", HandOff::Registry),
        ("archive", HandOff::Archive),
    ],
};

/// The hand-off, checked against the registry it needs.
pub(crate) fn resolve(
    written: Option<&Spanned<String>>,
    registry: Option<&str>,
    loc: &Locator,
) -> Result<HandOff> {
    let hand_off = HAND_OFF.resolve(written, HandOff::None, loc)?;
    if hand_off == HandOff::Registry && registry.is_none() {
        let why = "hand-off = \"registry\" needs a registry: set [stack] registry (or DORUN_REGISTRY), or use hand-off = \"archive\"";
        return Err(match written {
            Some(w) if std::env::var_os(HAND_OFF.env_var).is_none() => loc.error(w, why),
            _ => crate::error::Error::Usage(why.to_string()),
        });
    }
    Ok(hand_off)
}

/// The staging namespace: as written, else `<namespace>-staging` (`staging` for a stack
/// without a namespace). It must differ from the release namespace, or staging would publish.
pub(crate) fn staging_namespace(
    written: Option<&Spanned<String>>,
    namespace: &str,
    loc: &Locator,
) -> Result<String> {
    let staging = match written {
        Some(w) => w.get_ref().clone(),
        None if namespace.is_empty() => "staging".to_string(),
        None => format!("{namespace}-staging"),
    };
    if staging == namespace {
        let w = written.expect("the default differs from the namespace");
        return Err(loc.error(
            w,
            "staging-namespace must differ from namespace: staged images are not released",
        ));
    }
    Ok(staging)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staging_namespace_defaults_beside_the_release_one() {
        let loc = Locator::new(std::path::Path::new("tasks.toml"), "");
        assert_eq!(
            staging_namespace(None, "jupyter", &loc).unwrap(),
            "jupyter-staging"
        );
        assert_eq!(staging_namespace(None, "", &loc).unwrap(), "staging");
    }

    #[test]
    fn words_parse() {
        assert_eq!(HAND_OFF.parse("registry"), Some(HandOff::Registry));
        assert_eq!(HAND_OFF.parse("archive"), Some(HandOff::Archive));
        assert_eq!(HAND_OFF.parse("none"), Some(HandOff::None));
        assert_eq!(HAND_OFF.parse("s3"), None);
    }
}
