//! `DockerError`: every way talking to an engine or a registry can fail, worded for the user in
//! one place. No variant ever carries a password or token: credentials stay in [`Credentials`],
//! and messages that come back from a daemon or registry are passed through [`redact`] first.
//!
//! [`Credentials`]: crate::Credentials

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = DockerError> = std::result::Result<T, E>;

/// How to get an engine running; shown whenever none answers.
const START_HINT: &str = "start one with `sudo dockerd &` (or `scripts/env`), \
                          or point DOCKER_HOST at a running engine";

/// Every failure of the engine or registry layer.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// Nothing answers at DOCKER_HOST (or the engine stopped answering mid-run).
    #[error("cannot reach the Docker engine at {host} (DOCKER_HOST): {detail}; {START_HINT}")]
    Unreachable { host: String, detail: String },

    /// DOCKER_HOST names a transport this build does not speak.
    #[error(
        "unsupported DOCKER_HOST `{host}`: use unix:///path/to/docker.sock or tcp://host:port"
    )]
    BadDockerHost { host: String },

    /// The engine accepted a request but did not answer it within its deadline.
    #[error(
        "the Docker engine at {host} (DOCKER_HOST) did not answer within {} while {action}; \
         it may be overloaded or stuck (DORUN_ENGINE_TIMEOUT sets the deadline)",
        humanize(*after)
    )]
    EngineTimeout {
        host: String,
        action: String,
        after: std::time::Duration,
    },

    /// The engine's streamed answer (a build's output) ended before it was complete, while the
    /// engine itself still answers: this one request failed, not the environment.
    #[error(
        "the Docker engine's answer was cut short while {action} ({detail}); \
         the engine itself still answers, so this request failed, not the engine"
    )]
    AnswerCut { action: String, detail: String },

    /// The engine answered, but refused or failed an API call.
    #[error("Docker engine error while {action}: {message}")]
    Engine { action: String, message: String },

    /// A build step failed; `message` is the builder's own error text.
    #[error("{message}")]
    BuildFailed { message: String },

    /// The build context could not be read or sent.
    #[error("cannot send build context file {}: {detail}", path.display())]
    Context { path: PathBuf, detail: String },

    /// An image archive (`docker save` format) could not be written or read, or is not one.
    #[error("cannot {action}: {detail}")]
    Archive { action: String, detail: String },

    /// A local image the caller named does not exist in the engine.
    #[error("image `{reference}` is not in the local Docker engine")]
    ImageNotFound { reference: String },

    /// An image reference that cannot be parsed.
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// The caller asked for something that cannot be done (e.g. a relative upload path).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// Push failed for good (after retrying the transient failures).
    #[error("push of `{reference}` failed: {message}")]
    PushFailed { reference: String, message: String },

    /// The engine could not pull an image from its registry.
    #[error("pull of `{reference}` failed: {message}")]
    PullFailed { reference: String, message: String },

    /// The registry did not answer (refused, DNS, TLS or timeout).
    #[error("cannot reach registry {registry}: {detail}")]
    RegistryUnreachable { registry: String, detail: String },

    /// The registry accepted the connection but did not answer a request within its deadline.
    #[error(
        "registry {registry} did not answer {what} within {} \
         (DORUN_REGISTRY_TIMEOUT sets the deadline)",
        humanize(*after)
    )]
    RegistryTimeout {
        registry: String,
        what: String,
        after: std::time::Duration,
    },

    /// The registry refused our credentials, or we had none and it wants some.
    #[error("{}", auth_message(registry, user.as_deref(), detail))]
    Auth {
        registry: String,
        /// The user name we tried (never the password); `None` when no credentials were found.
        user: Option<String>,
        /// The registry's own words, e.g. "authentication required".
        detail: String,
    },

    /// The registry answered with an unexpected HTTP status.
    #[error("registry {registry} answered {status} to {what}: {message}")]
    Registry {
        registry: String,
        what: String,
        status: u16,
        message: String,
    },

    /// Credentials could not be read (broken config.json, failing credential helper).
    #[error("cannot read credentials for {registry}: {detail}")]
    Credentials { registry: String, detail: String },
}

fn auth_message(registry: &str, user: Option<&str>, detail: &str) -> String {
    let fix = format!(
        "set DORUN_REGISTRY_USER and DORUN_REGISTRY_PASSWORD, or run `docker login {registry}`"
    );
    match user {
        Some(user) => format!(
            "registry {registry} rejected the credentials of user `{user}` ({detail}); {fix}"
        ),
        None => format!("registry {registry} requires authentication ({detail}); {fix}"),
    }
}

impl DockerError {
    /// True when the environment, not the request, is at fault: no engine, no registry (or
    /// one silent past its deadline), unusable DOCKER_HOST. The CLI maps these to exit code 3.
    pub fn is_environment(&self) -> bool {
        matches!(
            self,
            DockerError::Unreachable { .. }
                | DockerError::BadDockerHost { .. }
                | DockerError::EngineTimeout { .. }
                | DockerError::RegistryUnreachable { .. }
                | DockerError::RegistryTimeout { .. }
        ) || self.is_registry_server_error()
    }

    /// A registry answering 5xx is broken or overloaded, the environment's fault like one that
    /// does not answer: the run stops with exit 3 naming it rather than blaming an image.
    fn is_registry_server_error(&self) -> bool {
        matches!(self, DockerError::Registry { status, .. } if (500..600).contains(status))
    }
}

/// `30s`, `1.5s`, `2m`: a deadline as the user would write it in the environment variable.
fn humanize(d: std::time::Duration) -> String {
    match d.subsec_millis() {
        0 => format!("{}s", d.as_secs()),
        ms => format!(
            "{}s",
            format!("{}.{ms:03}", d.as_secs()).trim_end_matches('0')
        ),
    }
}

/// Replaces every occurrence of `secret` in `text`: daemons and registries sometimes echo
/// what they were sent, and a password must never reach a log or a terminal.
pub(crate) fn redact(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_names_docker_host_and_the_fix() {
        let e = DockerError::Unreachable {
            host: "unix:///nope.sock".into(),
            detail: "no such file".into(),
        };
        let text = e.to_string();
        assert!(text.contains("DOCKER_HOST"), "{text}");
        assert!(text.contains("sudo dockerd &"), "{text}");
        assert!(e.is_environment());
    }

    #[test]
    fn a_registry_server_error_is_the_environment_a_refusal_is_not() {
        let answer = |status| DockerError::Registry {
            registry: "r:5000".into(),
            what: "HEAD /v2/ns/a/manifests/t".into(),
            status,
            message: "x".into(),
        };
        assert!(answer(500).is_environment());
        assert!(answer(503).is_environment());
        assert!(!answer(400).is_environment());
        assert!(!answer(404).is_environment());
    }

    #[test]
    fn build_failure_is_not_environment() {
        let e = DockerError::BuildFailed {
            message: "boom".into(),
        };
        assert!(!e.is_environment());
        assert_eq!(e.to_string(), "boom");
    }

    #[test]
    fn timeouts_are_environment_and_name_their_variable() {
        let e = DockerError::RegistryTimeout {
            registry: "r:5000".into(),
            what: "HEAD /v2/a/manifests/t".into(),
            after: std::time::Duration::from_millis(1500),
        };
        assert!(e.is_environment());
        assert_eq!(
            e.to_string(),
            "registry r:5000 did not answer HEAD /v2/a/manifests/t within 1.5s \
             (DORUN_REGISTRY_TIMEOUT sets the deadline)"
        );
        let e = DockerError::EngineTimeout {
            host: "unix:///x.sock".into(),
            action: "inspecting an image".into(),
            after: std::time::Duration::from_secs(120),
        };
        assert!(e.is_environment());
        assert!(
            e.to_string()
                .contains("within 120s while inspecting an image"),
            "{e}"
        );
        assert!(e.to_string().contains("DOCKER_HOST"), "{e}");
    }

    #[test]
    fn redact_hides_the_secret() {
        assert_eq!(redact("a hunter2 b", Some("hunter2")), "a *** b");
        assert_eq!(redact("a b", Some("")), "a b");
        assert_eq!(redact("a b", None), "a b");
    }
}
