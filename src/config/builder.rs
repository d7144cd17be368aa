//! `[stack] builder` and `DORUN_BUILDER`: which of the engine's builders builds the images
//! (SPEC §3). The environment wins over tasks.toml; a bad value is exit 2 where it is written.
use crate::config::resolve::Locator;
use crate::error::{Error, Result};
use dorun_docker::Builder;
use toml::Spanned;

/// The variable that overrides `[stack] builder`.
pub(crate) const BUILDER_VAR: &str = "DORUN_BUILDER";

/// The builder to use: BuildKit unless tasks.toml or the environment says `classic`.
pub(crate) fn resolve_builder(
    written: Option<&Spanned<String>>,
    from_env: Option<String>,
    loc: &Locator,
) -> Result<Builder> {
    if let Some(env) = from_env {
        return parse(&env).ok_or_else(|| {
            Error::Usage(format!(
                "{BUILDER_VAR}=`{env}` is invalid: use `buildkit` or `classic`"
            ))
        });
    }
    match written {
        None => Ok(Builder::BuildKit),
        Some(b) => parse(b.get_ref()).ok_or_else(|| {
            loc.error(
                b,
                format!(
                    "invalid builder `{}`: use `buildkit` or `classic`",
                    b.get_ref()
                ),
            )
        }),
    }
}

fn parse(s: &str) -> Option<Builder> {
    match s {
        "buildkit" => Some(Builder::BuildKit),
        "classic" => Some(Builder::Classic),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_others_do_not() {
        assert_eq!(parse("buildkit"), Some(Builder::BuildKit));
        assert_eq!(parse("classic"), Some(Builder::Classic));
        assert_eq!(parse("BuildKit"), None);
        assert_eq!(parse(""), None);
    }
}
