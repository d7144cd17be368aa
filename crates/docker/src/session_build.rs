//! A BuildKit build over dorun's own session ([`crate::buildkit_session`]): `POST /build` with
//! the session's id and every tag of the image (bollard's `build_image` takes one), its answer
//! read line by line as bollard's `BuildInfo`, so the caller handles it exactly like the stream
//! of bollard's `build_image`.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::BuildInfo;
use bollard::query_parameters::BuildImageOptions;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use http_body_util::{BodyStream, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::Request;

use crate::buildkit_session;
use crate::engine_http;
use crate::secret::BuildSecret;
use crate::session_auth::RegistryAuth;

/// The tar of the build context.
pub(crate) type TarBody = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Where the engine is and how long its answer may take to start.
pub(crate) struct Target<'a> {
    pub host: &'a str,
    pub api: String,
    pub headers_within: Duration,
}

/// Builds with `options` (whose `session` names the session to open) and the tags in
/// `more_tags` besides `options.t`, serving `secrets` and the registry credentials in `auth`.
pub(crate) fn build<'a>(
    target: Target<'a>,
    options: BuildImageOptions,
    more_tags: &'a [String],
    tar: TarBody,
    secrets: &'a [BuildSecret],
    auth: RegistryAuth,
) -> impl Stream<Item = Result<BuildInfo, BollardError>> + Send + 'a {
    futures_util::stream::once(start(target, options, more_tags, tar, secrets, auth)).try_flatten()
}

async fn start(
    target: Target<'_>,
    options: BuildImageOptions,
    more_tags: &[String],
    tar: TarBody,
    secrets: &[BuildSecret],
    auth: RegistryAuth,
) -> Result<impl Stream<Item = Result<BuildInfo, BollardError>> + Send, BollardError> {
    let id = options
        .session
        .clone()
        .ok_or(BollardError::MissingSessionBuildkitError {})?;
    let session = buildkit_session::open(target.host, &target.api, &id, secrets, auth).await?;
    let query = build_query(&options, more_tags)?;
    let body = StreamBody::new(tar.map_ok(Frame::data));
    let req = Request::post(format!("/v{}/build?{query}", target.api))
        .header(HOST, "docker")
        .header(CONTENT_TYPE, "application/x-tar")
        .body(body)?;
    let answer = tokio::time::timeout(target.headers_within, engine_http::send(target.host, req))
        .await
        .map_err(|_| BollardError::RequestTimeoutError)??;
    if !answer.response.status().is_success() {
        return Err(engine_http::refusal(answer.response).await);
    }
    let connection = answer.connection;
    let lines = json_lines(answer.response.into_body());
    Ok(lines.map(move |line| {
        // The session and the connection live as long as the answer is read.
        let _alive = (&session, &connection);
        line.and_then(|line| build_info(&line))
    }))
}

/// The query of `POST /build`: `options`, then one more `t` per tag in `more_tags` (the engine
/// takes several).
fn build_query(options: &BuildImageOptions, more_tags: &[String]) -> Result<String, BollardError> {
    let mut query = serde_urlencoded::to_string(options)?;
    for tag in more_tags {
        query.push('&');
        query.push_str(&serde_urlencoded::to_string([("t", tag)])?);
    }
    Ok(query)
}

/// One line of the answer; an `error` in it fails the stream, as in bollard's `build_image`.
fn build_info(line: &str) -> Result<BuildInfo, BollardError> {
    let info: BuildInfo = serde_json::from_str(line)?;
    match info.error {
        Some(error) => Err(BollardError::DockerStreamError { error }),
        None => Ok(info),
    }
}

/// The answer's body split at newlines, blank lines left out.
fn json_lines(body: Incoming) -> impl Stream<Item = Result<String, BollardError>> + Send {
    struct State {
        frames: BodyStream<Incoming>,
        partial: Vec<u8>,
        ready: VecDeque<String>,
        done: bool,
    }
    let state = State {
        frames: BodyStream::new(body),
        partial: Vec::new(),
        ready: VecDeque::new(),
        done: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(line) = s.ready.pop_front() {
                return Some((Ok(line), s));
            }
            if s.done {
                return None;
            }
            match s.frames.next().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        s.partial.extend_from_slice(&data);
                        s.ready.extend(complete_lines(&mut s.partial));
                    }
                }
                Some(Err(e)) => {
                    s.done = true;
                    return Some((Err(e.into()), s));
                }
                None => {
                    s.done = true;
                    s.partial.push(b'\n');
                    s.ready.extend(complete_lines(&mut s.partial));
                }
            }
        }
    })
}

/// Takes the complete lines out of `partial`, leaving the unfinished one.
fn complete_lines(partial: &mut Vec<u8>) -> Vec<String> {
    let Some(end) = partial.iter().rposition(|&b| b == b'\n') else {
        return Vec::new();
    };
    let complete: Vec<u8> = partial.drain(..=end).collect();
    String::from_utf8_lossy(&complete)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::BuildInfoAux;

    #[test]
    fn lines_are_cut_where_they_end_and_the_rest_waits() {
        let mut partial = b"{\"a\":1}\r\n\n{\"b\"".to_vec();
        assert_eq!(complete_lines(&mut partial), ["{\"a\":1}"]);
        assert_eq!(partial, b"{\"b\"");
        partial.extend_from_slice(b":2}\n");
        assert_eq!(complete_lines(&mut partial), ["{\"b\":2}"]);
        assert!(partial.is_empty());
    }

    #[test]
    fn buildkit_status_lines_decode_as_bollard_decodes_them() {
        // `moby.buildkit.trace` carries a base64 StatusResponse; bollard-stubs decodes it in
        // serde, so this path sees the same `BuildInfoAux::BuildKit` as `build_image`.
        // StatusResponse { vertexes: [Vertex { digest: "d", name: "n" }] } in protobuf:
        let status = [0x0a, 0x06, 0x0a, 0x01, b'd', 0x1a, 0x01, b'n'];
        let line = format!(
            "{{\"id\":\"moby.buildkit.trace\",\"aux\":\"{}\"}}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, status)
        );
        let info = build_info(&line).unwrap();
        let Some(BuildInfoAux::BuildKit(status)) = info.aux else {
            panic!("not decoded as BuildKit status: {info:?}");
        };
        assert_eq!(status.vertexes[0].digest, "d");
        assert_eq!(status.vertexes[0].name, "n");
    }

    #[test]
    fn every_tag_is_one_t_in_the_query() {
        let options = BuildImageOptions {
            t: Some("r:5000/ns/app:1-id-ab".into()),
            ..Default::default()
        };
        let query = build_query(&options, &["r:5000/ns/app:1-c0ffee0".to_string()]).unwrap();
        let tags: Vec<String> = serde_urlencoded::from_str::<Vec<(String, String)>>(&query)
            .unwrap()
            .into_iter()
            .filter(|(key, _)| key == "t")
            .map(|(_, value)| value)
            .collect();
        assert_eq!(tags, ["r:5000/ns/app:1-id-ab", "r:5000/ns/app:1-c0ffee0"]);
    }

    #[test]
    fn an_error_line_fails_the_stream() {
        let err = build_info("{\"error\":\"failed to solve: boom\"}").unwrap_err();
        assert!(
            matches!(&err, BollardError::DockerStreamError { error } if error == "failed to solve: boom"),
            "{err:?}"
        );
    }
}
