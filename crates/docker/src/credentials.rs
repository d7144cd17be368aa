//! Registry credentials: from `DORUN_REGISTRY_USER`/`DORUN_REGISTRY_PASSWORD`, else from the
//! docker CLI's `config.json` (`auths`, `credHelpers`, `credsStore`, via `docker_credential`).
//! The password never leaves this type except into an HTTP header: `Debug` redacts it and no
//! error built here contains it.

use std::path::{Path, PathBuf};

use docker_credential::{CredentialRetrievalError, DockerCredential};

use crate::error::{DockerError, Result};

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Credentials for `registry` (`host[:port]`): the environment first, then the docker
    /// config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). `None` when
    /// nothing is configured for it.
    pub fn lookup(registry: &str) -> Result<Option<Credentials>> {
        Self::lookup_with(
            registry,
            |name| std::env::var(name).ok(),
            docker_config_dir().as_deref(),
        )
    }

    /// [`Credentials::lookup`] with the environment and config directory supplied, for tests
    /// and for callers that already resolved them.
    pub fn lookup_with(
        registry: &str,
        env: impl Fn(&str) -> Option<String>,
        config_dir: Option<&Path>,
    ) -> Result<Option<Credentials>> {
        let user = env("DORUN_REGISTRY_USER").filter(|u| !u.is_empty());
        let password = env("DORUN_REGISTRY_PASSWORD");
        match (user, password) {
            (Some(u), Some(p)) => return Ok(Some(Credentials::new(u, p))),
            (Some(_), None) => {
                return Err(DockerError::Credentials {
                    registry: registry.to_string(),
                    detail: "DORUN_REGISTRY_USER is set but DORUN_REGISTRY_PASSWORD is not".into(),
                })
            }
            _ => {}
        }
        let Some(dir) = config_dir else {
            return Ok(None);
        };
        let path = dir.join("config.json");
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(DockerError::Credentials {
                    registry: registry.to_string(),
                    detail: format!("cannot read {}: {e}", path.display()),
                })
            }
        };
        let found =
            docker_credential::get_credential_from_reader(std::io::BufReader::new(file), registry);
        from_docker_credential(registry, &path, found)
    }
}

fn from_docker_credential(
    registry: &str,
    path: &Path,
    found: std::result::Result<DockerCredential, CredentialRetrievalError>,
) -> Result<Option<Credentials>> {
    let fail = |detail: String| DockerError::Credentials {
        registry: registry.to_string(),
        detail,
    };
    match found {
        Ok(DockerCredential::UsernamePassword(u, p)) => Ok(Some(Credentials::new(u, p))),
        Ok(DockerCredential::IdentityToken(_)) => Err(fail(format!(
            "{} holds an identity token (OAuth), which dorun does not support; \
             set DORUN_REGISTRY_USER and DORUN_REGISTRY_PASSWORD instead",
            path.display()
        ))),
        Err(CredentialRetrievalError::NoCredentialConfigured)
        | Err(CredentialRetrievalError::ConfigNotFound) => Ok(None),
        // Helpers answer "credentials not found" with a non-zero exit: that is "none".
        Err(CredentialRetrievalError::HelperFailure { stdout, .. })
            if stdout.to_lowercase().contains("credentials not found") =>
        {
            Ok(None)
        }
        // Only the helper's name: its output could in principle echo a secret.
        Err(CredentialRetrievalError::HelperFailure { helper, .. }) => {
            Err(fail(format!("credential helper `{helper}` failed")))
        }
        Err(CredentialRetrievalError::ConfigReadError) => {
            Err(fail(format!("{} is not valid JSON", path.display())))
        }
        Err(CredentialRetrievalError::HelperCommunicationError) => Err(fail(format!(
            "cannot run the credential helper named in {}: is it installed and on PATH?",
            path.display()
        ))),
        Err(other) => Err(fail(format!("{other} (from {})", path.display()))),
    }
}

/// `$DOCKER_CONFIG`, else `$HOME/.docker`, as the docker CLI resolves it.
fn docker_config_dir() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const SECRET: &str = "s3cr3t-Pa55";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn debug_redacts_the_password() {
        let c = Credentials::new("alice", SECRET);
        let text = format!("{c:?} {:?}", Some(&c));
        assert!(text.contains("alice"));
        assert!(!text.contains(SECRET), "{text}");
    }

    #[test]
    fn environment_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{not json").unwrap();
        let env = |k: &str| match k {
            "DORUN_REGISTRY_USER" => Some("bob".to_string()),
            "DORUN_REGISTRY_PASSWORD" => Some(SECRET.to_string()),
            _ => None,
        };
        let c = Credentials::lookup_with("r:5000", env, Some(dir.path()))
            .unwrap()
            .unwrap();
        assert_eq!(c, Credentials::new("bob", SECRET));
    }

    #[test]
    fn user_without_password_is_an_error_without_secrets() {
        let env = |k: &str| (k == "DORUN_REGISTRY_USER").then(|| "bob".to_string());
        let err = Credentials::lookup_with("r:5000", env, None).unwrap_err();
        assert!(err.to_string().contains("DORUN_REGISTRY_PASSWORD"), "{err}");
    }

    #[test]
    fn config_auths_are_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("carol:{SECRET}"));
        let json = format!(r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{auth}"}}}}}}"#);
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        let c = Credentials::lookup_with("127.0.0.1:5000", no_env, Some(dir.path()))
            .unwrap()
            .unwrap();
        assert_eq!(c, Credentials::new("carol", SECRET));
        let other = Credentials::lookup_with("other:1", no_env, Some(dir.path())).unwrap();
        assert!(other.is_none());
    }

    #[test]
    fn missing_config_means_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Credentials::lookup_with("x", no_env, Some(dir.path()))
            .unwrap()
            .is_none());
    }

    #[test]
    fn broken_config_and_failing_helper_never_leak_secrets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths": {{"x": "{SECRET}"#),
        )
        .unwrap();
        let err = Credentials::lookup_with("x", no_env, Some(dir.path())).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(SECRET), "{err}");

        std::fs::write(
            dir.path().join("config.json"),
            r#"{"credHelpers": {"x": "dorun-test-no-such-helper"}}"#,
        )
        .unwrap();
        let err = Credentials::lookup_with("x", no_env, Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("credential helper"), "{err}");
    }
}
