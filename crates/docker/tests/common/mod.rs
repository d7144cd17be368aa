//! Shared fixtures for the tests against the real engine: connecting (or skipping), busybox
//! images built `FROM scratch`, images removed on drop, and `docker-registry` processes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use dorun_docker::{BuildEvent, BuildOutcome, BuildRequest, Builder, DockerError, Engine};

/// The engine, or `None` (with a notice) when none runs and the environment allows skipping.
/// With `DORUN_REQUIRE_DOCKER=1` or `CI` set, an unreachable engine fails the test.
pub fn engine() -> Option<Engine> {
    match Engine::connect() {
        Ok(engine) => Some(engine),
        Err(e) => {
            let required = std::env::var("DORUN_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
                || std::env::var_os("CI").is_some();
            if required {
                panic!("Docker engine required (DORUN_REQUIRE_DOCKER=1 or CI): {e}");
            }
            eprintln!("SKIPPED: no Docker engine: {e}");
            None
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A reference unique to this test process: `dorun-docker-test/<name>:<pid>-<n>`.
pub fn unique_ref(name: &str) -> String {
    format!(
        "dorun-docker-test/{name}:{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes its image references when dropped.
pub struct Images<'a> {
    pub engine: &'a Engine,
    pub refs: Vec<String>,
}

impl<'a> Images<'a> {
    pub fn new(engine: &'a Engine) -> Self {
        Images {
            engine,
            refs: Vec::new(),
        }
    }

    pub fn track(&mut self, reference: &str) -> String {
        self.refs.push(reference.to_string());
        reference.to_string()
    }
}

impl Drop for Images<'_> {
    fn drop(&mut self) {
        for r in self.refs.iter().rev() {
            let _ = self.engine.remove_image(r, true);
        }
    }
}

/// A context directory holding a static busybox and `Dockerfile` built on it.
pub fn busybox_context(dockerfile_tail: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).expect("copy /bin/busybox");
    // A label unique to this context first: no two classic builds share cached layers, so one
    // test removing its image never pulls a layer from under another test's build. (BuildKit
    // ignores labels in its cache keys and shares the busybox layers; its cache holds its own
    // references to them. A test that needs a BuildKit step to run makes the step unique.)
    let dockerfile = format!(
        "FROM scratch\nLABEL dorun.test.context={}\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n{dockerfile_tail}",
        unique_ref("context").replace([':', '/'], "-")
    );
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

pub fn request(dir: &Path, tag: &str) -> BuildRequest {
    BuildRequest {
        context_dir: dir.to_path_buf(),
        dockerfile: "Dockerfile".into(),
        tags: vec![tag.to_string()],
        build_args: BTreeMap::new(),
        labels: BTreeMap::new(),
        context: None,
        builder: Builder::Classic,
        ..Default::default()
    }
}

/// Builds, collecting events; returns the outcome or error and every event.
pub fn build(
    engine: &Engine,
    req: &BuildRequest,
) -> (Result<BuildOutcome, DockerError>, Vec<BuildEvent>) {
    let mut events = Vec::new();
    let result = engine.build(req, &mut |e| events.push(e));
    (result, events)
}

/// Builds a busybox image with `dockerfile_tail` appended, tracked for removal.
pub fn busybox_image(images: &mut Images, name: &str, dockerfile_tail: &str) -> String {
    let dir = busybox_context(dockerfile_tail);
    let tag = images.track(&unique_ref(name));
    let (result, events) = build(images.engine, &request(dir.path(), &tag));
    if let Err(e) = result {
        panic!("build of {tag} failed: {e}\n{events:#?}");
    }
    tag
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `docker-registry` on a free loopback port with temp storage; killed on drop.
pub struct RegistryProc {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RegistryProc {
    /// `htpasswd`: require basic auth for this user and password (bcrypt-hashed).
    pub fn start(htpasswd: Option<(&str, &str)>) -> RegistryProc {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let data = dir.path().join("data");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: dorun-test\n",
            data.display()
        );
        if let Some((user, password)) = htpasswd {
            let hash = bcrypt::hash_with_result(password, 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoY);
            let path: PathBuf = dir.path().join("htpasswd");
            std::fs::write(&path, format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: dorun-test\n    path: {}\n",
                path.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start /usr/bin/docker-registry");
        let proc = RegistryProc {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        proc
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for RegistryProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
