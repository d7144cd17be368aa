//! dorun's own BuildKit session, for every BuildKit build: `POST /session` upgraded to h2c,
//! on which the engine calls our gRPC services: Secrets (`RUN --mount=type=secret` reads the
//! build's values through it), Auth (registry credentials for the builder's pulls,
//! `session_auth.rs`) and Health (the engine's keep-alive check). bollard's
//! `build_image` opens a session that serves registry auth only, and its gRPC plumbing is
//! private, so this is the same protocol with the services a secret needs (and the request it
//! builds with takes one tag only, see `session_build`).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use bollard::errors::Error as BollardError;
use bollard::health::health_check_response::ServingStatus;
use bollard::health::health_server::{Health, HealthServer};
use bollard::health::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse,
};
use bollard::moby::buildkit::secrets::v1::secrets_server::{Secrets, SecretsServer};
use bollard::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use bollard::moby::filesync::v1::auth_server::AuthServer;
use bytes::Bytes;
use futures_util::Stream;
use http_body_util::Empty;
use hyper::header::{CONNECTION, HOST, UPGRADE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioExecutor;
use hyper_util::service::TowerToHyperService;
use tokio::task::JoinHandle;
use tonic::{Response, Status};

use crate::engine_http;
use crate::secret::BuildSecret;
use crate::session_auth::RegistryAuth;

/// The gRPC methods the engine may call, announced when the session opens.
const SERVED_METHODS: [&str; 6] = [
    "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    "/moby.filesync.v1.Auth/Credentials",
    "/moby.filesync.v1.Auth/FetchToken",
    "/moby.filesync.v1.Auth/GetTokenAuthority",
    "/moby.filesync.v1.Auth/VerifyTokenAuthority",
    "/grpc.health.v1.Health/Check",
];

/// An open session; the engine can reach its services until it is dropped.
pub(crate) struct Session {
    serving: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// Opens session `id` on the engine at `host` (API `api`, e.g. `1.41`) serving `secrets` and
/// the credentials in `auth`.
pub(crate) async fn open(
    host: &str,
    api: &str,
    id: &str,
    secrets: &[BuildSecret],
    auth: RegistryAuth,
) -> Result<Session, BollardError> {
    let mut req = Request::post(format!("/v{api}/session"))
        .header(HOST, "docker")
        .header(CONNECTION, "Upgrade")
        .header(UPGRADE, "h2c")
        .header("X-Docker-Expose-Session-Uuid", id)
        .header("X-Docker-Expose-Session-Name", "dorun")
        // Keys BuildKit's cache of local directories; the context comes as a tar, never as one.
        .header("X-Docker-Expose-Session-Sharedkey", id);
    for method in SERVED_METHODS {
        req = req.header("X-Docker-Expose-Session-Grpc-Method", method);
    }
    let answer = engine_http::send(host, req.body(Empty::<Bytes>::new())?).await?;
    if answer.response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(engine_http::refusal(answer.response).await);
    }
    let upgraded = hyper::upgrade::on(answer.response).await?;
    let store = SecretStore(Arc::new(
        secrets
            .iter()
            .map(|s| (s.id.clone(), s.value.bytes().to_vec()))
            .collect(),
    ));
    let routes = tonic::service::Routes::new(HealthServer::new(AlwaysServing))
        .add_service(SecretsServer::new(store))
        .add_service(AuthServer::new(auth))
        .prepare();
    // The connection is served in this one task, which `Session`'s drop aborts: that closes
    // it, and the engine ends the session. (tonic's `Server` ran each connection in a task of
    // its own that outlived the abort: one open socket, and one session in the engine, was
    // left behind per build — 2061 of them in a build of 2061 images.)
    let serving = tokio::spawn(async move {
        // The engine hangs up when the build is over; a broken session shows as the build's
        // error ("secret not found", or the engine's own words).
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(upgraded, TowerToHyperService::new(routes))
            .await;
    });
    Ok(Session { serving })
}

/// The build's secrets by id.
struct SecretStore(Arc<HashMap<String, Vec<u8>>>);

#[tonic::async_trait]
impl Secrets for SecretStore {
    async fn get_secret(
        &self,
        request: tonic::Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = &request.get_ref().id;
        match self.0.get(id) {
            Some(data) => Ok(Response::new(GetSecretResponse { data: data.clone() })),
            // NotFound is what BuildKit expects for an unknown id (a required mount fails
            // with "secret <id> not found"; an optional one is skipped).
            None => Err(Status::not_found(format!(
                "secret {id} not found: declare it as [stack.secrets.{id}] in tasks.toml"
            ))),
        }
    }
}

/// Health: the engine checks it now and then and closes a session that stops answering.
struct AlwaysServing;

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for AlwaysServing {
    async fn check(
        &self,
        _request: tonic::Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    async fn list(
        &self,
        _request: tonic::Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("not served"))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        _request: tonic::Request<HealthCheckRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        Err(Status::unimplemented("not served"))
    }
}
