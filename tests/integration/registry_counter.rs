//! A counting door to the test registry: a loopback TCP port that passes every byte to the
//! registry and back and keeps the connections and the HTTP request lines seen on the way
//! (dorun's and the engine's pushes alike), so a test can bound how often a run asks the
//! registry, and what it asks. With `DORUN_TEST_SHOW_REQUESTS` set, each request line is
//! printed too. A slowed door holds each request a while before passing it on, so a test can
//! tell requests sent together from requests sent one after another without racing.
use crate::request_door;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) struct RegistryCounter {
    port: u16,
    connections: Arc<AtomicUsize>,
    /// Every request line (`HEAD /v2/…/manifests/<tag> HTTP/1.1`), in order.
    lines: Arc<Mutex<Vec<String>>>,
}

impl RegistryCounter {
    /// Listens until the test process ends, forwarding to `registry` (`host:port`).
    pub(crate) fn start(registry: &str) -> RegistryCounter {
        RegistryCounter::slowed(registry, Duration::ZERO)
    }

    /// Like `start`, holding each request `delay` before it goes on to the registry.
    pub(crate) fn slowed(registry: &str, delay: Duration) -> RegistryCounter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (connected, seen) = (connections.clone(), lines.clone());
        let registry = registry.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                connected.fetch_add(1, Ordering::SeqCst);
                let upstream = TcpStream::connect(&registry).expect("the registry answers");
                let seen = seen.clone();
                std::thread::spawn(move || forward(client, upstream, &seen, delay));
            }
        });
        RegistryCounter {
            port,
            connections,
            lines,
        }
    }

    /// The registry host (`127.0.0.1:<port>`) that reaches the registry through this door.
    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Connections opened so far.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The request lines seen so far (`HEAD /v2/…/manifests/<tag> HTTP/1.1`), one per request.
    pub(crate) fn request_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

/// Forwards one connection, keeping the line of each request and holding it `delay`.
fn forward(client: TcpStream, upstream: TcpStream, lines: &Mutex<Vec<String>>, delay: Duration) {
    request_door::forward(client, upstream, "registry", &|line| {
        let text = String::from_utf8_lossy(line).trim_end().to_string();
        lines.lock().unwrap().push(text);
        std::thread::sleep(delay);
    });
}
