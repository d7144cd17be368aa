//! A counting door to the test registry: a loopback TCP port that passes every byte to the
//! registry and back and counts the connections and the HTTP requests on the way (dorun's and
//! the engine's pushes alike), so a test can bound how often a run asks the registry.
//! With `DORUN_TEST_SHOW_REQUESTS` set, each request line is printed too.
use crate::engine_counter::is_request_line;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub(crate) struct RegistryCounter {
    port: u16,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl RegistryCounter {
    /// Listens until the test process ends, forwarding to `registry` (`host:port`).
    pub(crate) fn start(registry: &str) -> RegistryCounter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        let connected = connections.clone();
        let registry = registry.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                connected.fetch_add(1, Ordering::SeqCst);
                let upstream = TcpStream::connect(&registry).expect("the registry answers");
                let count = count.clone();
                std::thread::spawn(move || forward(client, upstream, &count));
            }
        });
        RegistryCounter {
            port,
            requests,
            connections,
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

    /// HTTP requests so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Copies the registry's answers back on a thread of their own; scans the requests line by line.
fn forward(mut client: TcpStream, mut upstream: TcpStream, requests: &AtomicUsize) {
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
                // Request lines are short; a long "line" is a pushed layer's bytes.
                if line.len() < 4096 {
                    line.push(b);
                }
                continue;
            }
            if is_request_line(&line) {
                if std::env::var_os("DORUN_TEST_SHOW_REQUESTS").is_some() {
                    eprintln!("registry: {}", String::from_utf8_lossy(&line));
                }
                requests.fetch_add(1, Ordering::SeqCst);
            }
            line.clear();
        }
    }
    let _ = upstream.shutdown(std::net::Shutdown::Write);
}
