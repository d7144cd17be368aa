//! A counting door to the Docker engine: a Unix socket that passes every byte to the real
//! engine and back, and counts the requests (and among them the image inspections) on the way,
//! so a test can bound how often dorun asks the engine, and what it asks. With `DORUN_TEST_SHOW_REQUESTS` set,
//! each request line is printed too.
use crate::request_door;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) struct EngineCounter {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    inspects: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    lines: Arc<Mutex<Vec<String>>>,
}

/// What the door counts.
#[derive(Clone, Default)]
struct Counts {
    inspects: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    /// Every request line (`GET /v1.41/images/json?… HTTP/1.1`), in order.
    lines: Arc<Mutex<Vec<String>>>,
}

impl EngineCounter {
    /// Listens until the test process ends, forwarding to the engine DOCKER_HOST names (a Unix
    /// socket) or to the default socket.
    pub(crate) fn start() -> EngineCounter {
        let engine = request_door::engine_socket();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let counts = Counts::default();
        let (inspects, requests) = (counts.inspects.clone(), counts.requests.clone());
        let lines = counts.lines.clone();
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
            lines,
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

    /// The request lines seen so far (`GET /v1.41/images/json?… HTTP/1.1`), query decoded.
    pub(crate) fn request_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

/// Forwards one connection, counting its requests and the image inspections among them.
fn forward(client: UnixStream, upstream: UnixStream, counts: &Counts) {
    request_door::forward(client, upstream, "engine", &|line| {
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let text = String::from_utf8_lossy(line).trim_end().to_string();
        let decoded = percent_encoding::percent_decode_str(&text).decode_utf8_lossy();
        counts.lines.lock().unwrap().push(decoded.into_owned());
        if is_image_inspect(line) {
            counts.inspects.fetch_add(1, Ordering::SeqCst);
        }
    });
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
