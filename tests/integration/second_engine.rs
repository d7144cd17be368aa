//! A second Docker engine, empty like a fresh CI runner's, beside the main one: its own
//! `dockerd` with its own data root, exec root, pid file, socket and bridge (made here, never
//! the main engine's `docker0`), so a test can build with nothing cached without touching the
//! engine and builder cache other tests use. Point dorun at it with `DOCKER_HOST = host`.
//! Dropping it stops that dockerd and deletes its bridge and directories.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh dockerd may take to answer on its socket.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long a stopping dockerd may take before it is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

pub(crate) struct SecondEngine {
    /// `unix://…/docker.sock`, for `DOCKER_HOST`.
    pub host: String,
    dockerd: Child,
    bridge: String,
    dir: PathBuf,
}

impl SecondEngine {
    /// Starts the engine, or None (with a notice) when this machine cannot run one and the
    /// environment allows skipping; in CI (or with DORUN_REQUIRE_DOCKER=1) that is a failure.
    pub(crate) fn start() -> Option<SecondEngine> {
        if let Err(why) = can_start() {
            let required = std::env::var_os("CI").is_some()
                || std::env::var("DORUN_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
            if required {
                panic!("a second Docker engine is required for this test: {why}");
            }
            eprintln!("skipping: no second Docker engine ({why})");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("dorun-engine2-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let bridge = make_bridge();
        let socket = dir.join("docker.sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let spawned = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg("--iptables=false")
            .arg(format!("--bridge={bridge}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn();
        let dockerd = match spawned {
            Ok(child) => child,
            Err(e) => {
                delete_bridge(&bridge);
                let _ = std::fs::remove_dir_all(&dir);
                panic!("starting dockerd: {e}");
            }
        };
        let mut engine = SecondEngine {
            host: format!("unix://{}", socket.display()),
            dockerd,
            bridge,
            dir,
        };
        engine.wait_until_it_answers();
        Some(engine)
    }

    /// Polls the socket until the engine answers; a dockerd that exits or stays silent past
    /// the deadline fails the test with the tail of its log (the drop then cleans up).
    fn wait_until_it_answers(&mut self) {
        let started = Instant::now();
        let socket = self.dir.join("docker.sock");
        loop {
            if socket.exists() {
                let answered = dorun_docker::Engine::connect_to(&self.host)
                    .and_then(|engine| engine.image_id("dorun-second-engine-probe:none"));
                if answered.is_ok() {
                    return;
                }
            }
            if let Ok(Some(status)) = self.dockerd.try_wait() {
                panic!("dockerd exited at start ({status}):\n{}", self.log_tail());
            }
            if started.elapsed() > START_DEADLINE {
                panic!(
                    "dockerd did not answer on {} within {START_DEADLINE:?}:\n{}",
                    self.host,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last lines of the dockerd log, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        let pid = self.dockerd.id() as libc::pid_t;
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let started = Instant::now();
        loop {
            match self.dockerd.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if started.elapsed() > STOP_DEADLINE => {
                    eprintln!(
                        "dockerd (pid {pid}) did not stop within {STOP_DEADLINE:?}; killing it\n{}",
                        self.log_tail()
                    );
                    let _ = self.dockerd.kill();
                    let _ = self.dockerd.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        delete_bridge(&self.bridge);
        unmount_below(&self.dir);
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {e}", self.dir.display());
        }
    }
}

/// Why no second engine can run here, if so: dockerd and ip are needed, and root.
fn can_start() -> Result<(), String> {
    for program in ["dockerd", "ip"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!("`{program}` is not installed"));
        }
    }
    if unsafe { libc::geteuid() } != 0 {
        return Err("starting dockerd needs root".into());
    }
    Ok(())
}

/// A bridge of its own with the first address of a private /24 no interface of the machine
/// uses (`10.199.x.0/24`, scanned from a start that differs per process).
fn make_bridge() -> String {
    let name = format!("dr2-{}", unique());
    assert!(name.len() <= 15, "interface name too long: {name}");
    let used = run_ip(&["-4", "-o", "addr", "show"]).unwrap_or_default()
        + &run_ip(&["-4", "route", "show"]).unwrap_or_default();
    let start = std::process::id() as usize % 250;
    let subnet = (0..250)
        .map(|i| (start + i) % 250 + 1)
        .map(|x| format!("10.199.{x}."))
        .find(|prefix| !used.contains(prefix.as_str()))
        .expect("a free 10.199.x.0/24");
    run_ip(&["link", "add", &name, "type", "bridge"]).unwrap_or_else(|e| panic!("{e}"));
    let made = run_ip(&["addr", "add", &format!("{subnet}1/24"), "dev", &name])
        .and_then(|_| run_ip(&["link", "set", &name, "up"]));
    if let Err(e) = made {
        delete_bridge(&name);
        panic!("{e}");
    }
    name
}

fn delete_bridge(name: &str) {
    if let Err(e) = run_ip(&["link", "delete", name]) {
        eprintln!("{e}");
    }
}

fn run_ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A dockerd that had to be killed may leave its overlay and shm mounts; they would make the
/// directory impossible to remove.
fn unmount_below(dir: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    // Deepest first.
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let _ = Command::new("umount").arg("-l").arg(point).status();
    }
}

/// Short (interface names have 15 bytes), and unique among concurrent tests and processes.
fn unique() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id() % 1_000_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}
