//! A counting door to the Docker engine: a Unix socket that passes every byte to the real
//! engine and back, and counts the requests (and among them the image inspections) on the way,
//! so a test can bound how often dorun asks the engine. With `DORUN_TEST_SHOW_REQUESTS` set,
//! each request line is printed too.
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub(crate) struct EngineCounter {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    inspects: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

/// What the door counts.
#[derive(Clone, Default)]
struct Counts {
    inspects: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl EngineCounter {
    /// Listens until the test process ends, forwarding to the engine DOCKER_HOST names (a Unix
    /// socket) or to the default socket.
    pub(crate) fn start() -> EngineCounter {
        let engine = match std::env::var("DOCKER_HOST") {
            Ok(host) => PathBuf::from(host.strip_prefix("unix://").expect("a unix DOCKER_HOST")),
            Err(_) => PathBuf::from("/var/run/docker.sock"),
        };
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let counts = Counts::default();
        let (inspects, requests) = (counts.inspects.clone(), counts.requests.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let upstream = UnixStream::connect(&engine).expect("the engine answers");
                let counts = counts.clone();
                std::thread::spawn(move || forward(client, upstream, &counts));
            }
        });
        EngineCounter {
            _dir: dir,
            socket,
            inspects,
            requests,
        }
    }

    /// The DOCKER_HOST value that reaches the engine through this door.
    pub(crate) fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Image inspections (`GET …/images/<ref>/json`) so far.
    pub(crate) fn inspects(&self) -> usize {
        self.inspects.load(Ordering::SeqCst)
    }

    /// Every HTTP request to the engine so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Copies the engine's answers back on a thread of their own; scans the requests line by line.
fn forward(mut client: UnixStream, mut upstream: UnixStream, counts: &Counts) {
    let (mut answers, mut back) = (upstream.try_clone().unwrap(), client.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut answers, &mut back);
        let _ = back.shutdown(std::net::Shutdown::Write);
    });
    let mut line = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = client.read(&mut buf) {
        if n == 0 || upstream.write_all(&buf[..n]).is_err() {
            break;
        }
        for &b in &buf[..n] {
            if b != b'\n' {
                // Request lines are short; a long "line" is a build context's bytes.
                if line.len() < 4096 {
                    line.push(b);
                }
                continue;
            }
            if is_request_line(&line) {
                if std::env::var_os("DORUN_TEST_SHOW_REQUESTS").is_some() {
                    eprintln!("engine: {}", String::from_utf8_lossy(&line));
                }
                counts.requests.fetch_add(1, Ordering::SeqCst);
            }
            if is_image_inspect(&line) {
                counts.inspects.fetch_add(1, Ordering::SeqCst);
            }
            line.clear();
        }
    }
    let _ = upstream.shutdown(std::net::Shutdown::Write);
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

fn is_image_inspect(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    let Some(target) = line
        .strip_prefix("GET ")
        .and_then(|rest| rest.split(' ').next())
    else {
        return false;
    };
    let path = target.split('?').next().unwrap_or(target);
    path.contains("/images/") && path.ends_with("/json") && !path.ends_with("/images/json")
}
