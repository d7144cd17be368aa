//! `Registry`: a small synchronous client of the registry HTTP API v2 (ureq) — enough to ask
//! whether a tag exists and which digest it has, and to list tags. Speaks both auth schemes a
//! registry can demand in its `WWW-Authenticate` challenge: Basic, and Bearer tokens fetched
//! from the announced realm.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;

use crate::challenge::Challenge;
use crate::credentials::Credentials;
use crate::error::{redact, DockerError, Result};

/// Manifest media types we accept, so the registry answers with the digest Docker pushed.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json";

/// What a request carries besides its method, path and credentials.
#[derive(Default)]
pub(crate) struct Parts<'a> {
    pub accept: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: Option<&'a [u8]>,
}

/// How long one request to a registry may take, connection to last byte, unless
/// [`Registry::with_timeout`] says otherwise.
pub const DEFAULT_REGISTRY_TIMEOUT: Duration = Duration::from_secs(30);

/// A registry at `host[:port]`.
pub struct Registry {
    host: String,
    base: String,
    creds: Option<Credentials>,
    agent: ureq::Agent,
    timeout: Duration,
    /// `Authorization` header values that worked, per token scope.
    auth_cache: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("base", &self.base)
            .field("creds", &self.creds)
            .finish()
    }
}

impl Registry {
    /// A client for `host` (`127.0.0.1:5000`, `ghcr.io`; an explicit `http://` or `https://`
    /// prefix is honoured). Loopback hosts and those listed in `DORUN_REGISTRY_INSECURE`
    /// (comma-separated, or `1` for all) are spoken to over plain HTTP, others over HTTPS.
    pub fn new(host: &str, creds: Option<Credentials>) -> Registry {
        let insecure = std::env::var("DORUN_REGISTRY_INSECURE").unwrap_or_default();
        let (scheme, bare) = if let Some(rest) = host.strip_prefix("http://") {
            ("http", rest)
        } else if let Some(rest) = host.strip_prefix("https://") {
            ("https", rest)
        } else if is_loopback(host) || listed(&insecure, host) {
            ("http", host)
        } else {
            ("https", host)
        };
        let bare = bare.trim_end_matches('/');
        Registry {
            host: bare.to_string(),
            base: format!("{scheme}://{bare}"),
            creds,
            agent: agent(DEFAULT_REGISTRY_TIMEOUT),
            timeout: DEFAULT_REGISTRY_TIMEOUT,
            auth_cache: Mutex::new(HashMap::new()),
        }
    }

    /// The same client with another deadline per request (connecting, sending, and reading the
    /// whole answer). Expiry is [`DockerError::RegistryTimeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Registry {
        self.agent = agent(timeout);
        self.timeout = timeout;
        self
    }

    /// `host[:port]` as given (without scheme).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Checks that the registry answers the v2 API (and accepts our credentials, if it
    /// requires any).
    pub fn ping(&self) -> Result<()> {
        self.request("HEAD", "/v2/", "", None)?;
        Ok(())
    }

    /// The digest (`sha256:…`) of `repo:tag`, or `None` when the tag (or repository) does not
    /// exist.
    pub fn manifest_digest(&self, repo: &str, tag: &str) -> Result<Option<String>> {
        let path = format!("/v2/{repo}/manifests/{tag}");
        let Some(resp) = self.request("HEAD", &path, &pull_scope(repo), Some(MANIFEST_ACCEPT))?
        else {
            return Ok(None);
        };
        match resp.header("Docker-Content-Digest") {
            Some(d) => Ok(Some(d.to_string())),
            None => Err(DockerError::Registry {
                registry: self.host.clone(),
                what: format!("HEAD {path}"),
                status: resp.status(),
                message: "no Docker-Content-Digest header in the answer".into(),
            }),
        }
    }

    /// `manifest_digest` of many `(repository, tag)` pairs, answered in the same order, with at
    /// most [`REGISTRY_CONCURRENCY`] requests in flight over the client's kept-alive
    /// connections. The first failure is the answer.
    pub fn manifest_digests(&self, refs: &[(&str, &str)]) -> Result<Vec<Option<String>>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let answers: Vec<Mutex<Option<Result<Option<String>>>>> =
            refs.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..REGISTRY_CONCURRENCY.min(refs.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((repo, tag)) = refs.get(i) else {
                        break;
                    };
                    let answer = self.manifest_digest(repo, tag);
                    let failed = answer.is_err();
                    *answers[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
                    if failed {
                        // The others stop at their next pick: no answer after a failure counts.
                        next.store(refs.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        // After a failure some pairs were never asked: the failure is the answer.
        let answers: Vec<Option<Result<Option<String>>>> = answers
            .into_iter()
            .map(|a| a.into_inner().unwrap_or_else(|p| p.into_inner()))
            .collect();
        answers.into_iter().flatten().collect()
    }

    /// Every tag of `repo` (all pages), empty when the repository does not exist.
    pub fn tags(&self, repo: &str) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let mut tags = Vec::new();
        let mut next = Some(format!("/v2/{repo}/tags/list?n=1000"));
        while let Some(path) = next.take() {
            let Some(resp) = self.request("GET", &path, &pull_scope(repo), None)? else {
                break;
            };
            next = resp.header("Link").and_then(next_link);
            let list: TagList = json(resp).map_err(|e| DockerError::Registry {
                registry: self.host.clone(),
                what: format!("GET {path}"),
                status: 200,
                message: format!("unreadable tag list: {e}"),
            })?;
            tags.extend(list.tags.unwrap_or_default());
        }
        Ok(tags)
    }

    /// Sends one request without a body, answering an auth challenge once. `Ok(None)` on 404.
    fn request(
        &self,
        method: &str,
        path: &str,
        scope: &str,
        accept: Option<&str>,
    ) -> Result<Option<ureq::Response>> {
        let parts = Parts {
            accept,
            ..Parts::default()
        };
        self.send(method, path, scope, &parts)
    }

    /// Sends one request, answering an auth challenge once. `Ok(None)` on 404. `scope` may
    /// hold several scopes separated by spaces (a blob mount reads one repository and writes
    /// another).
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        scope: &str,
        parts: &Parts<'_>,
    ) -> Result<Option<ureq::Response>> {
        let what = format!("{method} {path}");
        let cached = self.cached_auth(scope);
        let mut auth = cached.clone();
        for attempt in 0..2 {
            let mut req = self.agent.request(method, &format!("{}{path}", self.base));
            if let Some(a) = &auth {
                req = req.set("Authorization", a);
            }
            if let Some(a) = parts.accept {
                req = req.set("Accept", a);
            }
            if let Some(t) = parts.content_type {
                req = req.set("Content-Type", t);
            }
            let answer = match parts.body {
                Some(body) => req.send_bytes(body),
                None if method == "PUT" || method == "POST" => req.send_bytes(&[]),
                None => req.call(),
            };
            match answer {
                Ok(resp) => {
                    if let Some(a) = &auth {
                        if cached.as_ref() != Some(a) {
                            self.remember_auth(scope, a.clone());
                        }
                    }
                    return Ok(Some(resp));
                }
                Err(ureq::Error::Status(404, _)) => return Ok(None),
                Err(ureq::Error::Status(401, resp)) if attempt == 0 => {
                    let challenge = resp
                        .header("WWW-Authenticate")
                        .and_then(Challenge::parse)
                        .ok_or_else(|| self.auth_error(&error_text(resp)))?;
                    auth = Some(self.answer(&challenge, scope)?);
                }
                Err(ureq::Error::Status(401, resp)) => {
                    return Err(self.auth_error(&error_text(resp)))
                }
                Err(ureq::Error::Status(code, resp)) => {
                    return Err(self.status_error(&what, code, resp))
                }
                Err(ureq::Error::Transport(t)) => return Err(self.transport_error(&what, &t)),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// The `Authorization` value that answers `challenge`.
    fn answer(&self, challenge: &Challenge, scope: &str) -> Result<String> {
        match challenge {
            Challenge::Basic => match &self.creds {
                Some(c) => Ok(basic(c)),
                None => Err(self.auth_error("authentication required")),
            },
            Challenge::Bearer {
                realm,
                service,
                scope: challenge_scope,
            } => {
                // The challenge names the scope of the repository in the path; a mount also
                // needs to read the repository it mounts from.
                let mut scopes: Vec<&str> = challenge_scope.iter().map(String::as_str).collect();
                for s in scope.split(' ').filter(|s| !s.is_empty()) {
                    if !scopes.contains(&s) {
                        scopes.push(s);
                    }
                }
                let mut req = self.agent.get(realm);
                if let Some(s) = service {
                    req = req.query("service", s);
                }
                for s in scopes {
                    req = req.query("scope", s);
                }
                if let Some(c) = &self.creds {
                    req = req.set("Authorization", &basic(c));
                }
                let resp = match req.call() {
                    Ok(resp) => resp,
                    Err(ureq::Error::Status(401 | 403, resp)) => {
                        return Err(self.auth_error(&error_text(resp)))
                    }
                    Err(ureq::Error::Status(code, resp)) => {
                        return Err(self.status_error("fetching a token", code, resp))
                    }
                    Err(ureq::Error::Transport(t)) => {
                        return Err(self.transport_error("fetching a token", &t))
                    }
                };
                #[derive(serde::Deserialize)]
                struct Token {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let token: Token = json(resp).map_err(|e| DockerError::Registry {
                    registry: self.host.clone(),
                    what: "fetching a token".into(),
                    status: 200,
                    message: format!("unreadable token answer: {e}"),
                })?;
                token
                    .token
                    .or(token.access_token)
                    .map(|t| format!("Bearer {t}"))
                    .ok_or_else(|| self.auth_error("the token service returned no token"))
            }
        }
    }

    fn cached_auth(&self, scope: &str) -> Option<String> {
        let cache = self.auth_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(scope).cloned()
    }

    fn remember_auth(&self, scope: &str, value: String) {
        let mut cache = self.auth_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(scope.to_string(), value);
    }

    fn secret(&self) -> Option<&str> {
        self.creds.as_ref().map(|c| c.password.as_str())
    }

    fn auth_error(&self, detail: &str) -> DockerError {
        DockerError::Auth {
            registry: self.host.clone(),
            user: self.creds.as_ref().map(|c| c.username.clone()),
            detail: redact(detail, self.secret()),
        }
    }

    fn status_error(&self, what: &str, status: u16, resp: ureq::Response) -> DockerError {
        DockerError::Registry {
            registry: self.host.clone(),
            what: what.to_string(),
            status,
            message: redact(&error_text(resp), self.secret()),
        }
    }

    /// No answer: past the deadline, or no connection at all.
    fn transport_error(&self, what: &str, t: &ureq::Transport) -> DockerError {
        if timed_out(t) {
            return DockerError::RegistryTimeout {
                registry: self.host.clone(),
                what: what.to_string(),
                after: self.timeout,
            };
        }
        DockerError::RegistryUnreachable {
            registry: self.host.clone(),
            detail: redact(&t.to_string(), self.secret()),
        }
    }
}

/// How many requests to one registry a caller may have in flight at once (see
/// `Registry::manifest_digests`); as many idle connections are kept alive for reuse.
pub const REGISTRY_CONCURRENCY: usize = 8;

/// The HTTP client, one per `Registry`: its connections are kept alive and reused (ureq hands
/// a connection back once an answer is read, and HEAD answers and small bodies are read at
/// once). `timeout` is a deadline for the whole request: ureq applies it to pooled
/// connections too, where a plain read timeout is dropped when the connection is reused (a
/// registry answering `/v2/` and then never a manifest request hung dorun that way).
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .max_idle_connections_per_host(REGISTRY_CONCURRENCY)
        .timeout_connect(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .user_agent(concat!("dorun-docker/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Whether the registry was connected but gave no answer before the deadline (ureq reports
/// it as an I/O error of kind `TimedOut`, or `WouldBlock` from a socket read timeout). A
/// connection that could not be made at all is "unreachable", not this.
fn timed_out(t: &ureq::Transport) -> bool {
    if t.kind() == ureq::ErrorKind::ConnectionFailed {
        return false;
    }
    let mut source = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return true;
            }
        }
        source = e.source();
    }
    false
}

fn json<T: serde::de::DeserializeOwned>(resp: ureq::Response) -> std::io::Result<T> {
    let text = resp.into_string()?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}

pub(crate) fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

fn basic(c: &Credentials) -> String {
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost" || name == "::1" || name.starts_with("127.")
}

fn listed(list: &str, host: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|h| h == "1" || h == "true" || h == "*" || h == host)
}

/// `</v2/x/tags/list?last=a&n=1000>; rel="next"` → `/v2/x/tags/list?last=a&n=1000`.
pub(crate) fn next_link(link: &str) -> Option<String> {
    let (target, params) = link.split_once(';')?;
    if !params.contains("rel=\"next\"") && !params.contains("rel=next") {
        return None;
    }
    let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
    // Registries send a path; some send an absolute URL on the same host.
    target.find("/v2/").map(|i| target[i..].to_string())
}

/// The registry's own words from an error body: `errors[0].message`, else the raw text.
fn error_text(resp: ureq::Response) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorItem {
        message: Option<String>,
        code: Option<String>,
    }
    let status = resp.status_text().to_string();
    let body = resp.into_string().unwrap_or_default();
    if let Ok(parsed) = serde_json::from_str::<Errors>(&body) {
        if let Some(first) = parsed.errors.into_iter().next() {
            if let Some(m) = first.message.or(first.code) {
                return m;
            }
        }
    }
    let body = body.trim();
    if body.is_empty() {
        status
    } else {
        body.chars().take(300).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_use_http() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example.com:5000"));
        assert!(Registry::new("127.0.0.1:5000", None)
            .base
            .starts_with("http://"));
        assert!(Registry::new("ghcr.io", None).base.starts_with("https://"));
        assert!(Registry::new("http://r.lan:5000", None).base == "http://r.lan:5000");
    }

    #[test]
    fn insecure_list() {
        assert!(listed("a:1, b:2", "b:2"));
        assert!(listed("1", "x"));
        assert!(!listed("", "x"));
    }

    #[test]
    fn link_header_pagination() {
        assert_eq!(
            next_link(r#"</v2/a/b/tags/list?last=x&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/b/tags/list?last=x&n=2")
        );
        assert_eq!(next_link(r#"</v2/x>; rel="prev""#), None);
    }

    #[test]
    fn debug_hides_password() {
        let r = Registry::new("127.0.0.1:1", Some(Credentials::new("u", "pw-XYZ")));
        assert!(!format!("{r:?}").contains("pw-XYZ"));
    }
}
