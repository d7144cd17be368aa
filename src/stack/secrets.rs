//! The build secrets' values, read from their sources (SPEC §3) before a run that builds: a
//! missing source stops the run with exit 2 before anything builds, naming the secret and its
//! variable or file, never a value.
use crate::config::secrets::{SecretSource, SecretSpec};
use crate::error::{Error, Result};
use dorun_docker::{BuildSecret, SecretValue};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

/// Every secret's value. A variable that is unset or empty is missing: CI systems expand a
/// secret they do not have to an empty string, and an empty secret is then a mistake.
pub(crate) fn read_all(specs: &[SecretSpec], root: &Path) -> Result<Vec<BuildSecret>> {
    specs
        .iter()
        .map(|spec| {
            let value = match &spec.source {
                SecretSource::Env(var) => std::env::var_os(var)
                    .filter(|v| !v.is_empty())
                    .map(OsStringExt::into_vec)
                    .ok_or_else(|| {
                        missing(
                            spec,
                            &format!("environment variable `{var}` is not set (or is empty)"),
                        )
                    })?,
                SecretSource::File(file) => std::fs::read(root.join(file)).map_err(|e| {
                    missing(spec, &format!("cannot read file `{file}`: {}", e.kind()))
                })?,
            };
            Ok(BuildSecret {
                id: spec.id.clone(),
                value: SecretValue::new(value),
            })
        })
        .collect()
}

fn missing(spec: &SecretSpec, why: &str) -> Error {
    Error::config(
        Some(spec.at.clone()),
        format!(
            "build secret `{}`: {why}; it is needed before anything builds",
            spec.id
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    fn spec(id: &str, source: SecretSource) -> SecretSpec {
        SecretSpec {
            id: id.into(),
            source,
            at: Location::from_offset(Path::new("tasks.toml"), "env = \"X\"\n", 6),
        }
    }

    #[test]
    fn a_missing_source_names_the_id_and_the_source_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("present"), "file-value").unwrap();
        let found = read_all(
            &[spec("f", SecretSource::File("present".into()))],
            dir.path(),
        )
        .unwrap();
        assert_eq!(found[0].value, SecretValue::new(b"file-value".to_vec()));

        let var = "DORUN_TEST_SECRET_THAT_IS_NEVER_SET";
        let err = read_all(&[spec("tok", SecretSource::Env(var.into()))], dir.path()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("build secret `tok`"), "{text}");
        assert!(text.contains(var), "{text}");
        assert!(text.contains("tasks.toml:1:7"), "{text}");

        let err = read_all(
            &[spec("npm", SecretSource::File("absent".into()))],
            dir.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("build secret `npm`: cannot read file `absent`"),
            "{err}"
        );
    }
}
