//! A stuck server for the deadline tests: it speaks just enough HTTP/1.1 to answer the
//! requests it is told about, over keep-alive connections, and holds every other request open
//! without a word, the way a hung registry or engine does.
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// One answer: status, extra header lines, body.
pub(crate) type Answer = (u16, Vec<(&'static str, String)>, String);

/// Decides, from the method and path, whether to answer a request (`None`: never answer).
pub(crate) type Script = fn(method: &str, path: &str) -> Option<Answer>;

pub(crate) struct Stalling {
    pub port: u16,
}

impl Stalling {
    /// Listens on a free loopback port until the test process ends.
    pub(crate) fn start(script: Script) -> Stalling {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || serve(stream, script));
            }
        });
        Stalling { port }
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A registry that answers the API check (`/v2/`) and nothing else.
    pub(crate) fn registry() -> Stalling {
        Stalling::start(|_, path| {
            (path == "/v2/" || path == "/v2").then(|| {
                let api = (
                    "Docker-Distribution-API-Version",
                    "registry/2.0".to_string(),
                );
                (200, vec![api], String::new())
            })
        })
    }

    /// An engine that answers the version check and the ping, and nothing else.
    pub(crate) fn engine() -> Stalling {
        Stalling::start(|_, path| {
            let path = path.split('?').next().unwrap_or(path);
            let json = ("Content-Type", "application/json".to_string());
            if path.ends_with("/version") {
                let body = r#"{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24","Os":"linux","Arch":"amd64"}"#;
                Some((200, vec![json], body.to_string()))
            } else if path.ends_with("/_ping") {
                Some((200, vec![], "OK".to_string()))
            } else {
                None
            }
        })
    }
}

/// Serves one connection: answered requests in turn, then silence until the client leaves.
fn serve(stream: TcpStream, script: Script) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        // The headers; bodies are not expected of the requests answered here.
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let Some((status, headers, body)) = script(method, path) else {
            // Hold the request: read until the client gives up and closes.
            let mut rest = Vec::new();
            let _ = std::io::Read::read_to_end(&mut reader, &mut rest);
            return;
        };
        let mut response = format!(
            "HTTP/1.1 {status} OK\r\nContent-Length: {}\r\nConnection: keep-alive\r\n",
            body.len()
        );
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        if method != "HEAD" {
            response.push_str(&body);
        }
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
