//! Plain HTTP/1.1 requests to the engine on a connection of their own, for what bollard only
//! does for its own BuildKit session: upgrading `/session` and posting the `/build` that uses
//! dorun's session instead.

use std::error::Error as StdError;

use bollard::errors::Error as BollardError;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to the engine: its unix socket or a TCP connection.
trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// An answer, with the request side of its connection: dropping that early could close the
/// connection before a streamed answer is read to its end.
pub(crate) struct Answer<B> {
    pub response: Response<Incoming>,
    pub connection: SendRequest<B>,
}

/// Sends `req` (whose path starts with `/v<api>/`) on a new connection to `host`
/// (`unix://…` or `tcp://…`, as [`crate::Engine`] accepts it). The connection serves upgrades,
/// so a `101 Switching Protocols` answer can be taken over with `hyper::upgrade::on`.
pub(crate) async fn send<B>(host: &str, req: Request<B>) -> Result<Answer<B>, BollardError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let io = dial(host).await?;
    let (mut connection, driver) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        // Its failure shows as the request's or the body's error.
        let _ = driver.with_upgrades().await;
    });
    let response = connection.send_request(req).await?;
    Ok(Answer {
        response,
        connection,
    })
}

/// The engine's refusal of a request, as bollard reports it: the `message` of its JSON body.
pub(crate) async fn refusal(response: Response<Incoming>) -> BollardError {
    let status_code = response.status().as_u16();
    let body = match response.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return e.into(),
    };
    BollardError::DockerResponseServerError {
        status_code,
        message: server_message(&body),
    }
}

/// `{"message": "…"}` as the engine writes errors, or the body as text.
fn server_message(body: &Bytes) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    serde_json::from_slice::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string())
}

async fn dial(host: &str) -> std::io::Result<Box<dyn Io>> {
    if let Some(path) = host.strip_prefix("unix://") {
        return Ok(Box::new(tokio::net::UnixStream::connect(path).await?));
    }
    let address = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host)
        .trim_end_matches('/');
    Ok(Box::new(tokio::net::TcpStream::connect(address).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_message_is_taken_from_its_json() {
        let json = Bytes::from_static(b"{\"message\":\"no such session\"}\n");
        assert_eq!(server_message(&json), "no such session");
        let text = Bytes::from_static(b"page not found\n");
        assert_eq!(server_message(&text), "page not found");
    }
}
