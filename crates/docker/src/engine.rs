//! `Engine`: the one connection to the Docker engine, and the blocking bridge over it.
//!
//! The executor's worker threads are plain OS threads, so every public method is synchronous
//! and runs its future with `Runtime::block_on` on a runtime the engine owns. `block_on` takes
//! `&self`, so many workers may drive requests at once; bollard's `Docker` is a cheap clone of
//! an `Arc`'d hyper client. Never call these methods from inside an async context.

use std::future::Future;
use std::time::Duration;

use bollard::Docker;

use crate::error::{DockerError, Result};

/// Where bollard looks when DOCKER_HOST is unset.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How long `connect` waits for the engine before declaring it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request may wait for the engine's answer unless [`Engine::set_request_timeout`]
/// says otherwise. bollard bounds the wait for the response *headers*: every call but a build
/// gets them at once (streams such as a container's wait, its output or a push send headers
/// first, then run as long as the container or push), so the deadline only fires when the
/// engine is stuck.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A build's headers come after the whole context is uploaded and the build started; builds
/// are bounded by the task's own timeout, not by the per-request deadline.
const BUILD_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// A connected Docker engine. `Send + Sync`: share one behind an `Arc` across worker threads.
pub struct Engine {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) docker: Docker,
    pub(crate) host: String,
    /// Labels naming the run and project of every container this engine creates.
    pub(crate) owner: Option<crate::owner::Owner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("host", &self.host).finish()
    }
}

impl Engine {
    /// Connects to the engine named by `DOCKER_HOST` (`unix://` or `tcp://`; default
    /// `unix:///var/run/docker.sock`), negotiates the API version and pings it. Fails within
    /// about five seconds with [`DockerError::Unreachable`] when nothing answers.
    pub fn connect() -> Result<Engine> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        Self::connect_to(&host)
    }

    /// Like [`Engine::connect`] with an explicit host address instead of `DOCKER_HOST`.
    pub fn connect_to(host: &str) -> Result<Engine> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dorun-docker")
            .enable_all()
            .build()
            .map_err(|e| DockerError::Unreachable {
                host: host.to_string(),
                detail: format!("cannot start the async runtime: {e}"),
            })?;
        let unreachable = |detail: String| DockerError::Unreachable {
            host: host.to_string(),
            detail,
        };
        let docker = {
            // hyper's client wants a runtime in scope when it is built.
            let _guard = rt.enter();
            open(host)?
        };
        let docker = rt.block_on(async {
            let negotiated = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
                .await
                .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
                .map_err(|e| unreachable(e.to_string()))?;
            tokio::time::timeout(CONNECT_TIMEOUT, negotiated.ping())
                .await
                .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
                .map_err(|e| unreachable(e.to_string()))?;
            Ok::<_, DockerError>(negotiated)
        })?;
        let mut engine = Engine {
            rt,
            docker,
            host: host.to_string(),
            owner: None,
        };
        engine.set_request_timeout(DEFAULT_REQUEST_TIMEOUT);
        Ok(engine)
    }

    /// The deadline of every request but a build's (see [`DEFAULT_REQUEST_TIMEOUT`]); whole
    /// seconds, at least one. Expiry is [`DockerError::EngineTimeout`].
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        let secs = timeout.as_secs_f64().ceil().max(1.0);
        self.docker.set_timeout(Duration::from_secs(secs as u64));
    }

    /// The deadline of one request, as [`Engine::set_request_timeout`] set it.
    pub fn request_timeout(&self) -> Duration {
        self.docker.timeout()
    }

    /// The client for a build, whose answer starts only once the build runs.
    pub(crate) fn build_client(&self) -> Docker {
        self.docker.clone().with_timeout(BUILD_REQUEST_TIMEOUT)
    }

    /// The address this engine was reached at, e.g. `unix:///var/run/docker.sock`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The negotiated API version, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        let v = self.docker.client_version();
        format!("{}.{}", v.major_version, v.minor_version)
    }

    /// Runs one future to completion on the engine's runtime.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// Maps a bollard error from `action` to the user-facing enum: transport failures mean the
    /// engine went away (an environment problem), anything else is the engine's answer.
    pub(crate) fn err(&self, action: &str, e: bollard::errors::Error) -> DockerError {
        use bollard::errors::Error as B;
        match e {
            B::DockerResponseServerError { message, .. } => DockerError::Engine {
                action: action.to_string(),
                message,
            },
            B::RequestTimeoutError => DockerError::EngineTimeout {
                host: self.host.clone(),
                action: action.to_string(),
                after: self.request_timeout(),
            },
            e if is_transport_failure(&e) => DockerError::Unreachable {
                host: self.host.clone(),
                detail: format!("{action}: {e}"),
            },
            other => DockerError::Engine {
                action: action.to_string(),
                message: other.to_string(),
            },
        }
    }

    /// Like [`Engine::err`], for a failure while reading a streamed answer (a build's output):
    /// a connection that broke mid-answer means the engine went away only when it no longer
    /// answers a ping; one that still answers cut this one answer short
    /// ([`DockerError::AnswerCut`], a failed request rather than an unreachable engine).
    pub(crate) fn stream_err(&self, action: &str, e: bollard::errors::Error) -> DockerError {
        let engine_answers = is_transport_failure(&e) && self.answers_ping();
        cut_or_gone(self.err(action, e), action, engine_answers)
    }

    /// Whether the engine answers a ping within [`CONNECT_TIMEOUT`].
    fn answers_ping(&self) -> bool {
        self.block_on(async {
            matches!(
                tokio::time::timeout(CONNECT_TIMEOUT, self.docker.ping()).await,
                Ok(Ok(_))
            )
        })
    }
}

/// The failures of the connection itself (none, refused, closed, or an answer that ended
/// early), as opposed to the engine's own answers.
fn is_transport_failure(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as B;
    matches!(
        e,
        B::SocketNotFoundError(_)
            | B::HyperResponseError { .. }
            | B::HyperLegacyError { .. }
            | B::IOError { .. }
    )
}

/// `error` as [`Engine::err`] worded it for a broken connection, judged by whether the engine
/// still answers: an answer cut short when it does, an unreachable engine (with the way to
/// reach one) when it does not. Other errors are left as they are.
fn cut_or_gone(error: DockerError, action: &str, engine_answers: bool) -> DockerError {
    match error {
        DockerError::Unreachable { detail, .. } if engine_answers => DockerError::AnswerCut {
            action: action.to_string(),
            detail: detail
                .strip_prefix(&format!("{action}: "))
                .unwrap_or(&detail)
                .to_string(),
        },
        other => other,
    }
}

/// Builds the bollard client for `host` without touching the network.
fn open(host: &str) -> Result<Docker> {
    let client_version = bollard::API_DEFAULT_VERSION;
    let secs = DEFAULT_REQUEST_TIMEOUT.as_secs();
    let result = if host.starts_with("unix://") {
        Docker::connect_with_unix(host, secs, client_version)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(host, secs, client_version)
    } else {
        return Err(DockerError::BadDockerHost {
            host: host.to_string(),
        });
    };
    result.map_err(|e| DockerError::Unreachable {
        host: host.to_string(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
    }

    #[test]
    fn missing_socket_is_unreachable() {
        let err = Engine::connect_to("unix:///nonexistent/docker.sock").unwrap_err();
        assert!(err.is_environment(), "{err}");
        assert!(err.to_string().contains("DOCKER_HOST"), "{err}");
    }

    #[test]
    fn closed_tcp_port_fails_fast() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let start = std::time::Instant::now();
        let err = Engine::connect_to(&format!("tcp://127.0.0.1:{port}")).unwrap_err();
        assert!(matches!(err, DockerError::Unreachable { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(6));
    }

    #[test]
    fn silent_listener_times_out_within_bound() {
        // Accepts connections but never answers: connect must still give up quickly.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let start = std::time::Instant::now();
        let err = Engine::connect_to(&format!("tcp://127.0.0.1:{port}")).unwrap_err();
        assert!(matches!(err, DockerError::Unreachable { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(7));
        drop(listener);
    }

    /// dockerd 20.10 closed a build's answer mid-stream during a 2061-image push while it kept
    /// running: hyper/bollard reported `bytes remaining on stream`, which was taken for an
    /// unreachable engine (exit 3).
    #[test]
    fn a_broken_answer_from_a_live_engine_is_cut_short_from_a_dead_one_unreachable() {
        let broken =
            || bollard::errors::Error::from(std::io::Error::other("bytes remaining on stream"));
        let unreachable = |e| DockerError::Unreachable {
            host: "unix:///var/run/docker.sock".into(),
            detail: format!("building an image: {e}"),
        };
        assert!(is_transport_failure(&broken()));

        let cut = cut_or_gone(unreachable(broken()), "building an image", true);
        assert!(matches!(cut, DockerError::AnswerCut { .. }), "{cut}");
        assert!(!cut.is_environment());
        assert_eq!(
            cut.to_string(),
            "the Docker engine's answer was cut short while building an image \
             (bytes remaining on stream); the engine itself still answers, so this request \
             failed, not the engine"
        );

        let gone = cut_or_gone(unreachable(broken()), "building an image", false);
        assert!(gone.is_environment(), "{gone}");
        assert!(gone.to_string().contains("DOCKER_HOST"), "{gone}");
        assert!(gone.to_string().contains("sudo dockerd &"), "{gone}");

        // The engine's own refusal stays the engine's answer, whether it answers pings or not.
        let refused = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "no space left on device".into(),
        };
        assert!(!is_transport_failure(&refused));
        let refused = DockerError::Engine {
            action: "building an image".into(),
            message: refused.to_string(),
        };
        let kept = cut_or_gone(refused, "building an image", true);
        assert!(matches!(kept, DockerError::Engine { .. }), "{kept}");
    }

    #[test]
    fn unknown_scheme_is_rejected() {
        let err = Engine::connect_to("ftp://x").unwrap_err();
        assert!(matches!(err, DockerError::BadDockerHost { .. }), "{err}");
    }
}
