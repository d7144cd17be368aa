//! A private `docker-registry` (CNCF distribution) on a free loopback port, optionally behind
//! htpasswd basic auth, with its storage in a temp dir; stopped (and restartable on the same
//! port and storage) by the test, killed on drop.
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "/usr/bin/docker-registry";

pub(super) struct LocalRegistry {
    /// `127.0.0.1:<port>`.
    pub host: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// True when the registry binary is installed; in CI its absence is a failure, not a skip.
pub(super) fn registry_binary_available() -> bool {
    let found = std::path::Path::new(BINARY).exists();
    if !found {
        let required = std::env::var_os("CI").is_some()
            || std::env::var("DORUN_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
        assert!(!required, "{BINARY} is required (scripts/env installs it)");
        eprintln!("skipping: {BINARY} is not installed");
    }
    found
}

impl LocalRegistry {
    /// Starts a registry; with `auth`, only that user and password get in.
    pub(super) fn start(auth: Option<(&str, &str)>) -> LocalRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n  secret: dorun-test-only\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = auth {
            // Cost 5: the registry checks it on every request; the test needs no strength.
            let hash = bcrypt::hash(password, 5).unwrap();
            std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: dorun-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut registry = LocalRegistry {
            host,
            dir,
            child: None,
        };
        registry.restart();
        registry
    }

    /// (Re)starts the process on the same port and storage, and waits until it listens.
    pub(super) fn restart(&mut self) {
        self.stop();
        let log = std::fs::File::create(self.log_path()).unwrap();
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&self.host).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{BINARY} exited ({status}): {}",
                    std::fs::read_to_string(self.log_path()).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "registry did not listen on {}",
                self.host
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id, for a task that stops the registry in the middle of a run.
    pub(super) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Kills the process (if still running) and reaps it.
    pub(super) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port the kernel just had free (bound and released at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
