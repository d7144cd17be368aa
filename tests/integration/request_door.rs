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
                // Request lines are short; a long "line" is a build context's or a layer's bytes.
                if line.len() < 4096 {
                    line.push(b);
                }
                continue;
            }
            if is_request_line(&line) {
                if std::env::var_os("DORUN_TEST_SHOW_REQUESTS").is_some() {
                    eprintln!("{door}: {}", String::from_utf8_lossy(&line));
                }
                on_request(&line);
            }
            line.clear();
        }
        if upstream.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    upstream.close_write();
}

/// `METHOD /path HTTP/1.1`: the first line of an HTTP request.
pub(crate) fn is_request_line(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r');
    let mut words = line.split(' ');
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("");
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&method)
        && target.starts_with('/')
        && words.next().is_some_and(|v| v.starts_with("HTTP/1."))
}
