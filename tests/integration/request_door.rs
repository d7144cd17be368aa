//! The loop the doors share (`engine_counter`, `registry_counter`, `cutting_door`): pass a
//! client's bytes upstream and the answers back, and hand each HTTP request line seen on the way to the
//! door's counter (printed too when `DORUN_TEST_SHOW_REQUESTS` is set).
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;

/// The engine's Unix socket the engine doors forward to: DOCKER_HOST's, or the default.
pub(crate) fn engine_socket() -> std::path::PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(host) => host
            .strip_prefix("unix://")
            .expect("a unix DOCKER_HOST")
            .into(),
        Err(_) => "/var/run/docker.sock".into(),
    }
}

/// A connection the door can split into its two directions.
pub(crate) trait Connection: Read + Write + Send + Sized + 'static {
    fn duplicate(&self) -> Self;
    fn close_write(&self);
}

impl Connection for UnixStream {
    fn duplicate(&self) -> Self {
        self.try_clone().unwrap()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Connection for TcpStream {
    fn duplicate(&self) -> Self {
        self.try_clone().unwrap()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

/// Copies the answers back on a thread of their own; scans the requests line by line and calls
/// `on_request` with each request line. `door` names the door in printed lines.
pub(crate) fn forward<C: Connection>(
    client: C,
    upstream: C,
    door: &str,
    on_request: &dyn Fn(&[u8]),
) {
    forward_answering(
        client,
        upstream,
        door,
        on_request,
        |mut answers, mut back| {
            let _ = std::io::copy(&mut answers, &mut back);
            back.close_write();
        },
    );
}

/// Like `forward`, with the answers passed back by `pass_answers(upstream, client)` on a thread
/// of its own. `on_request` sees each request line before its bytes go upstream, so it can
/// prepare for the answer.
pub(crate) fn forward_answering<C: Connection>(
    mut client: C,
    mut upstream: C,
    door: &str,
    on_request: &dyn Fn(&[u8]),
    pass_answers: impl FnOnce(C, C) + Send + 'static,
) {
    let (answers, back) = (upstream.duplicate(), client.duplicate());
    std::thread::spawn(move || pass_answers(answers, back));
    let mut line = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = client.read(&mut buf) {
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if b != b'\n' {
                line.push(b);
                // Request lines are short; a long "line" is a build context's or a layer's
                // bytes, whose last bytes may still be followed by a request (below).
                if line.len() > 2 * LONGEST_REQUEST_LINE {
                    line.drain(..line.len() - LONGEST_REQUEST_LINE);
                }
                continue;
            }
            if let Some(request) = request_line_ending(&line) {
                if std::env::var_os("DORUN_TEST_SHOW_REQUESTS").is_some() {
                    eprintln!("{door}: {}", String::from_utf8_lossy(request));
                }
                on_request(request);
            }
            line.clear();
        }
        if upstream.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    upstream.close_write();
}

/// The longest request line the doors recognise (dorun's build requests, with their build
/// arguments in the query, are the longest).
const LONGEST_REQUEST_LINE: usize = 8192;

/// The request line that ends `line`, if any: the whole line, or its tail when the line began
/// with the body of the request before. A body need not end with a newline (a JSON document,
/// an uploaded blob), and on a kept-alive connection the next request follows its last byte.
pub(crate) fn request_line_ending(line: &[u8]) -> Option<&[u8]> {
    // Cheap first: most lines of a body do not end like a request line.
    let text = line.strip_suffix(b"\r").unwrap_or(line);
    if !(text.ends_with(b" HTTP/1.1") || text.ends_with(b" HTTP/1.0")) {
        return None;
    }
    (0..line.len())
        .rev()
        .map(|start| &line[start..])
        .filter(|tail| METHODS.iter().any(|m| tail.starts_with(m.as_bytes())))
        .find(|tail| is_request_line(tail))
}

/// The methods of the requests the doors count.
const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// `METHOD /path HTTP/1.1`: the first line of an HTTP request.
pub(crate) fn is_request_line(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r');
    let mut words = line.split(' ');
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("");
    METHODS.contains(&method)
        && target.starts_with('/')
        && words.next().is_some_and(|v| v.starts_with("HTTP/1."))
}

#[test]
fn a_request_right_after_a_body_without_a_final_newline_is_seen() {
    use std::sync::{Arc, Mutex};
    // Two requests on one kept-alive connection, each body ending without a newline: a JSON
    // document (a blob dorun uploads), and 40 KB with no newline at all (a layer's bytes).
    let long_body = "x".repeat(40_000);
    let sent = format!(
        "PUT /v2/r/blobs/uploads/u HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}\
         POST /v2/r/blobs/uploads/ HTTP/1.1\r\nContent-Length: 40000\r\n\r\n{long_body}\
         PUT /v2/r/manifests/t HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    );
    let (mut client, door_client) = UnixStream::pair().unwrap();
    let (door_upstream, mut upstream) = UnixStream::pair().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let lines = seen.clone();
    let door = std::thread::spawn(move || {
        forward(door_client, door_upstream, "test", &|line| {
            let line = String::from_utf8_lossy(line).trim_end().to_string();
            lines.lock().unwrap().push(line);
        });
    });
    client.write_all(sent.as_bytes()).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut passed = Vec::new();
    upstream.read_to_end(&mut passed).unwrap();
    drop(upstream);
    door.join().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "PUT /v2/r/blobs/uploads/u HTTP/1.1",
            "POST /v2/r/blobs/uploads/ HTTP/1.1",
            "PUT /v2/r/manifests/t HTTP/1.1",
        ]
    );
    assert!(passed == sent.as_bytes(), "the door passes every byte");
}
