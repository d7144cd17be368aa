//! `[stack.secrets.<id>]`: where each build secret's value comes from (SPEC §3), checked when
//! tasks.toml loads. The values themselves are read only before a run that builds
//! (`stack::secrets`), and never enter the model.
use crate::config::resolve::Locator;
use crate::config::schema::RawSecret;
use crate::error::{Location, Result};
use std::collections::BTreeMap;
use toml::Spanned;

/// Where a secret's value is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of dorun's environment.
    Env(String),
    /// A file, relative to the project root (an absolute path is taken as it is).
    File(String),
}

#[derive(Debug, Clone)]
pub struct SecretSpec {
    /// What `RUN --mount=type=secret,id=<id>` names.
    pub id: String,
    pub source: SecretSource,
    /// Where the source is written, for the error when it is missing.
    pub at: Location,
}

pub(crate) fn resolve(
    raw: &BTreeMap<Spanned<String>, RawSecret>,
    loc: &Locator,
) -> Result<Vec<SecretSpec>> {
    let mut out = Vec::new();
    for (id, secret) in raw {
        if !valid_id(id.get_ref()) {
            return Err(loc.error(
                id,
                format!(
                    "invalid secret id `{}`: use letters, digits and . _ -",
                    id.get_ref()
                ),
            ));
        }
        let (source, written) = match (&secret.env, &secret.file) {
            (Some(var), None) => {
                if var.get_ref().is_empty() || var.get_ref().contains(['=', '\0']) {
                    return Err(loc.error(
                        var,
                        format!("invalid environment variable name `{}`", var.get_ref()),
                    ));
                }
                (SecretSource::Env(var.get_ref().clone()), loc.at(var))
            }
            (None, Some(file)) => {
                if file.get_ref().is_empty() || file.get_ref().contains('\0') {
                    return Err(loc.error(file, "the secret's `file` must be a path"));
                }
                (SecretSource::File(file.get_ref().clone()), loc.at(file))
            }
            (Some(_), Some(file)) => {
                return Err(loc.error(
                    file,
                    format!(
                        "[stack.secrets.{}] has both `env` and `file`: keep one",
                        id.get_ref()
                    ),
                ))
            }
            (None, None) => {
                return Err(loc.error(
                    id,
                    format!(
                        "[stack.secrets.{}] needs `env = \"VARIABLE\"` or `file = \"path\"`",
                        id.get_ref()
                    ),
                ))
            }
        };
        out.push(SecretSpec {
            id: id.get_ref().clone(),
            source,
            at: written,
        });
    }
    Ok(out)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::RawFile;
    use std::path::Path;

    fn resolve_text(text: &str) -> Result<Vec<SecretSpec>> {
        let raw: RawFile = toml::from_str(text).unwrap();
        let loc = Locator::new(Path::new("tasks.toml"), text);
        resolve(&raw.stack.unwrap().secrets, &loc)
    }

    #[test]
    fn env_and_file_sources_resolve_with_where_they_are_written() {
        let secrets = resolve_text(
            "[stack]\n[stack.secrets.tok]\nenv = \"TOK\"\n[stack.secrets.npmrc]\nfile = \"secrets/npmrc\"\n",
        )
        .unwrap();
        let by_id: Vec<_> = secrets.iter().map(|s| (s.id.as_str(), &s.source)).collect();
        assert_eq!(
            by_id,
            [
                ("npmrc", &SecretSource::File("secrets/npmrc".into())),
                ("tok", &SecretSource::Env("TOK".into())),
            ]
        );
        assert_eq!((secrets[1].at.line, secrets[1].at.column), (3, 7));
    }

    #[test]
    fn both_or_neither_source_is_an_error_where_it_is_written() {
        let both = resolve_text("[stack]\n[stack.secrets.tok]\nenv = \"T\"\nfile = \"f\"\n")
            .unwrap_err()
            .to_string();
        assert!(both.contains("has both `env` and `file`"), "{both}");
        assert!(both.contains("tasks.toml:4:8"), "{both}");
        let neither = resolve_text("[stack]\n[stack.secrets.tok]\n")
            .unwrap_err()
            .to_string();
        assert!(
            neither.contains("needs `env = \"VARIABLE\"` or `file = \"path\"`"),
            "{neither}"
        );
        assert!(neither.contains("tasks.toml:2:16"), "{neither}");
    }

    #[test]
    fn bad_ids_and_variable_names_are_refused() {
        let id = resolve_text("[stack.secrets.\"a b\"]\nenv = \"T\"\n")
            .unwrap_err()
            .to_string();
        assert!(id.contains("invalid secret id `a b`"), "{id}");
        let var = resolve_text("[stack.secrets.t]\nenv = \"A=B\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            var.contains("invalid environment variable name `A=B`"),
            "{var}"
        );
    }
}
