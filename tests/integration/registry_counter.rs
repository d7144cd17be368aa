//! A counting door to the test registry: a loopback TCP port that passes every byte to the
//! registry and back and counts the connections and the HTTP requests on the way (dorun's and
//! the engine's pushes alike), so a test can bound how often a run asks the registry.
//! With `DORUN_TEST_SHOW_REQUESTS` set, each request line is printed too.
use crate::request_door;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) struct RegistryCounter {
    port: u16,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    /// Each request's line (`HEAD /v2/…/manifests/… HTTP/1.1`), in order.
    lines: Arc<Mutex<Vec<String>>>,
}

impl RegistryCounter {
    /// Listens until the test process ends, forwarding to `registry` (`host:port`).
    pub(crate) fn start(registry: &str) -> RegistryCounter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let count = requests.clone();
        let connected = connections.clone();
        let seen = lines.clone();
        let registry = registry.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                connected.fetch_add(1, Ordering::SeqCst);
                let upstream = TcpStream::connect(&registry).expect("the registry answers");
                let (count, seen) = (count.clone(), seen.clone());
                std::thread::spawn(move || forward(client, upstream, &count, &seen));
            }
        });
        RegistryCounter {
            port,
            requests,
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

    /// The request lines so far (method, path, version).
    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// HTTP requests so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Forwards one connection, counting its requests.
fn forward(
    client: TcpStream,
    upstream: TcpStream,
    requests: &AtomicUsize,
    lines: &Mutex<Vec<String>>,
) {
    request_door::forward(client, upstream, "registry", &|line| {
        requests.fetch_add(1, Ordering::SeqCst);
        let line = String::from_utf8_lossy(line).trim_end().to_string();
        lines.lock().unwrap().push(line);
    });
}
