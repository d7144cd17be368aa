//! `Engine::push`: push one tag through the engine, retrying what is worth retrying.
//!
//! Push errors arrive as text inside the progress stream, so they are classified by their
//! words: the registry's 5xx answers and dropped connections are transient and retried with
//! exponential backoff; authentication and other 4xx refusals are final at once.

use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptions;
use futures_util::StreamExt;

use crate::credentials::Credentials;
use crate::engine::Engine;
use crate::error::{redact, DockerError, Result};
use crate::image::is_not_found;
use crate::reference::ImageRef;

/// Pauses before the 2nd, 3rd and 4th attempt.
const BACKOFF: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// What one failed attempt means for the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The registry refused who we are.
    Auth,
    /// The connection failed or the registry had a 5xx moment: try again.
    Transient { unreachable: bool },
    /// Anything else the registry or engine refused.
    Permanent,
}

impl Engine {
    /// Pushes `reference` (`registry/ns/name:tag`) and returns the pushed manifest's digest
    /// (`sha256:…`). Transient failures are retried up to four attempts in all.
    pub fn push(&self, reference: &str, creds: Option<&Credentials>) -> Result<String> {
        self.push_with(reference, creds, &mut |_| {})
    }

    /// [`Engine::push`], handing every progress line to `on_line` (for the push log).
    pub fn push_with(
        &self,
        reference: &str,
        creds: Option<&Credentials>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<String> {
        let parsed = ImageRef::parse(reference)?;
        if parsed.digest.is_some() {
            return Err(DockerError::InvalidReference {
                reference: reference.to_string(),
                reason: "digest references cannot be tagged or pushed".into(),
            });
        }
        let secret = creds.map(|c| c.password.as_str());
        let mut attempt = 0;
        loop {
            let message = match self.push_once(&parsed, reference, creds, on_line)? {
                Ok(digest) => return Ok(digest),
                Err(message) => redact(&message, secret),
            };
            let failure = classify(&message);
            match failure {
                Failure::Transient { .. } if attempt < BACKOFF.len() => {
                    on_line(&format!(
                        "push failed ({message}); retrying in {:?}",
                        BACKOFF[attempt]
                    ));
                    std::thread::sleep(BACKOFF[attempt]);
                    attempt += 1;
                }
                Failure::Transient { unreachable: true } => {
                    return Err(DockerError::RegistryUnreachable {
                        registry: parsed.registry_host().to_string(),
                        detail: message,
                    })
                }
                Failure::Auth => {
                    return Err(DockerError::Auth {
                        registry: parsed.registry_host().to_string(),
                        user: creds.map(|c| c.username.clone()),
                        detail: message,
                    })
                }
                Failure::Transient { .. } | Failure::Permanent => {
                    return Err(DockerError::PushFailed {
                        reference: reference.to_string(),
                        message,
                    })
                }
            }
        }
    }

    /// One attempt. The outer `Result` is for failures not worth retrying at this level
    /// (engine gone, image missing); the inner one carries the registry's error text.
    fn push_once(
        &self,
        parsed: &ImageRef,
        reference: &str,
        creds: Option<&Credentials>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<std::result::Result<String, String>> {
        let name = parsed.name();
        let options = PushImageOptions {
            tag: Some(parsed.tag().to_string()),
            platform: None,
        };
        let auth = creds.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(parsed.registry_host().to_string()),
            ..Default::default()
        });
        self.block_on(async {
            let mut stream = self.docker.push_image(&name, Some(options), auth);
            let mut digest = None;
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(status) = info.status.as_deref() {
                            on_line(status);
                            digest = digest.or_else(|| parse_digest(status));
                        }
                    }
                    Err(bollard::errors::Error::DockerStreamError { error }) => {
                        return Ok(Err(error))
                    }
                    Err(e) if is_not_found(&e) => {
                        return Err(DockerError::ImageNotFound {
                            reference: reference.to_string(),
                        })
                    }
                    Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                        return Ok(Err(message))
                    }
                    Err(e) => return Err(self.err("pushing an image", e)),
                }
            }
            Ok(digest.ok_or_else(|| {
                "the engine finished the push without reporting a digest".to_string()
            }))
        })
    }
}

/// `latest: digest: sha256:ab… size: 528` → `sha256:ab…`.
pub(crate) fn parse_digest(status: &str) -> Option<String> {
    let rest = &status[status.find("digest: ")? + "digest: ".len()..];
    let digest = rest.split_whitespace().next()?;
    digest.starts_with("sha256:").then(|| digest.to_string())
}

/// Sorts a push error by its words; see the module doc.
pub(crate) fn classify(message: &str) -> Failure {
    let m = message.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if any(&[
        "unauthorized",
        "authentication required",
        "denied",
        "no basic auth credentials",
        "incorrect username or password",
    ]) {
        return Failure::Auth;
    }
    if any(&[
        "connection refused",
        "connection reset",
        "timeout",
        "timed out",
        "no such host",
        "broken pipe",
        "unexpected eof",
        ": eof",
        "network is unreachable",
    ]) {
        return Failure::Transient { unreachable: true };
    }
    if any(&[
        "500 internal server error",
        "502 bad gateway",
        "503 service unavailable",
        "504 gateway timeout",
        "status: 5",
        "status code 5",
        "toomanyrequests",
        "429 too many requests",
    ]) {
        return Failure::Transient { unreachable: false };
    }
    Failure::Permanent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_from_status() {
        assert_eq!(
            parse_digest("latest: digest: sha256:abc123 size: 528").as_deref(),
            Some("sha256:abc123")
        );
        assert_eq!(parse_digest("Pushed"), None);
    }

    #[test]
    fn classification() {
        use Failure::*;
        assert_eq!(classify("unauthorized: authentication required"), Auth);
        assert_eq!(
            classify("denied: requested access to the resource is denied"),
            Auth
        );
        assert_eq!(
            classify(
                r#"Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused"#
            ),
            Transient { unreachable: true }
        );
        assert_eq!(
            classify("net/http: TLS handshake timeout"),
            Transient { unreachable: true }
        );
        assert_eq!(
            classify("received unexpected HTTP status: 503 Service Unavailable"),
            Transient { unreachable: false }
        );
        assert_eq!(classify("manifest invalid: manifest invalid"), Permanent);
        assert_eq!(
            classify("name unknown: repository name not known to registry"),
            Permanent
        );
    }
}
