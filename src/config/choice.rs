//! A `[stack]` setting that is one of a few words, which an environment variable overrides
//! (`builder`/`DORUN_BUILDER`, `hand-off`/`DORUN_HAND_OFF`): the environment wins over
//! tasks.toml, and a bad value is exit 2 — where it is written, or naming the variable.
use crate::config::resolve::Locator;
use crate::error::{Error, Result};
use toml::Spanned;

/// The setting's words and the values they stand for.
pub(crate) struct Choice<T: 'static> {
    /// The tasks.toml key, for messages (`builder`).
    pub key: &'static str,
    /// The variable that overrides it (`DORUN_BUILDER`).
    pub env_var: &'static str,
    pub words: &'static [(&'static str, T)],
}

impl<T: Copy> Choice<T> {
    /// The value: the environment's (read here), else tasks.toml's, else `default`.
    pub(crate) fn resolve(
        &self,
        written: Option<&Spanned<String>>,
        default: T,
        loc: &Locator,
    ) -> Result<T> {
        self.resolve_with_env(written, std::env::var(self.env_var).ok(), default, loc)
    }

    pub(crate) fn resolve_with_env(
        &self,
        written: Option<&Spanned<String>>,
        from_env: Option<String>,
        default: T,
        loc: &Locator,
    ) -> Result<T> {
        if let Some(env) = from_env {
            return self.parse(&env).ok_or_else(|| {
                Error::Usage(format!(
                    "{}=`{env}` is invalid: use {}",
                    self.env_var,
                    self.listed()
                ))
            });
        }
        match written {
            None => Ok(default),
            Some(w) => self.parse(w.get_ref()).ok_or_else(|| {
                loc.error(
                    w,
                    format!(
                        "invalid {} `{}`: use {}",
                        self.key,
                        w.get_ref(),
                        self.listed()
                    ),
                )
            }),
        }
    }

    pub(crate) fn parse(&self, word: &str) -> Option<T> {
        self.words
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, value)| *value)
    }

    /// `` `a` or `b` ``, `` `a`, `b` or `c` ``.
    fn listed(&self) -> String {
        let quoted: Vec<String> = self.words.iter().map(|(w, _)| format!("`{w}`")).collect();
        match quoted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => quoted.concat(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLOURS: Choice<u8> = Choice {
        key: "colour",
        env_var: "DORUN_TEST_COLOUR",
        words: &[("red", 1), ("green", 2), ("blue", 3)],
    };

    #[test]
    fn words_parse_and_are_listed_for_the_user() {
        assert_eq!(COLOURS.parse("green"), Some(2));
        assert_eq!(COLOURS.parse("Green"), None);
        assert_eq!(COLOURS.listed(), "`red`, `green` or `blue`");
    }

    #[test]
    fn the_environment_wins_and_is_checked() {
        let loc = Locator::new(std::path::Path::new("tasks.toml"), "");
        assert_eq!(
            COLOURS
                .resolve_with_env(None, Some("blue".into()), 1, &loc)
                .unwrap(),
            3
        );
        assert_eq!(COLOURS.resolve_with_env(None, None, 1, &loc).unwrap(), 1);
        let bad = COLOURS
            .resolve_with_env(None, Some("pink".into()), 1, &loc)
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("DORUN_TEST_COLOUR=`pink` is invalid: use `red`, `green` or `blue`"),
            "{bad}"
        );
    }
}
