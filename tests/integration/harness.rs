//! The `Test` builder every integration test uses (in the style of casey/just's tests/test.rs):
//! a temporary project, the real `dorun` binary run with `--progress plain`, `NO_COLOR=1` and a
//! scrubbed environment, and expectations that are all checked, every mismatch reported at once;
//! output that is a contract is compared exactly (`stdout_eq`, `stderr_eq`, `Project::file_eq`).
#![allow(dead_code)] // not every test module uses every helper

use crate::snapshot;
use serde_json::Value;
use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub(crate) const DORUN: &str = env!("CARGO_BIN_EXE_dorun");

/// What of the outer environment a dorun under test sees: how to find programs and the engine,
/// where temp files go, and backtraces. Nothing else: `DORUN_*` settings, registry credentials
/// (`DORUN_REGISTRY_USER`/`PASSWORD`) and the docker config must come from the test itself.
const PASSED_THROUGH: &[&str] = &["PATH", "DOCKER_HOST", "TMPDIR", "RUST_BACKTRACE"];

/// Clears `cmd`'s environment down to [`PASSED_THROUGH`], a C locale, and `home` as both `HOME`
/// and the parent of `DOCKER_CONFIG` (an empty directory: no credentials unless a test writes
/// some). Variables the caller sets afterwards win.
pub(crate) fn scrub<'c>(cmd: &'c mut Command, home: &Path) -> &'c mut Command {
    cmd.env_clear();
    for key in PASSED_THROUGH {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    cmd.env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("LANG", "C")
        .env("LC_ALL", "C")
}

/// A temporary project directory shared by the steps of one test, with an empty home of its
/// own for the dorun it runs.
#[derive(Clone)]
pub(crate) struct Project {
    dir: Rc<tempfile::TempDir>,
    home: Rc<tempfile::TempDir>,
    /// `(placeholder, text)` pairs `file_eq`, `stdout_eq` and `stderr_eq` redact.
    redactions: Rc<RefCell<Vec<(&'static str, String)>>>,
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    pub(crate) fn new() -> Project {
        let temp = |prefix: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .expect("create a temp dir")
        };
        let home = temp("dorun-it-home-");
        std::fs::create_dir(home.path().join(".docker")).unwrap();
        let project = Project {
            dir: Rc::new(temp("dorun-it-")),
            home: Rc::new(home),
            redactions: Rc::default(),
        };
        project.redact("[ROOT]", &project.path().display().to_string());
        project
    }

    /// The canonical project root (what dorun prints in paths).
    pub(crate) fn path(&self) -> PathBuf {
        std::fs::canonicalize(self.dir.path()).unwrap()
    }

    pub(crate) fn join(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    /// The `HOME` of every dorun run in this project.
    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    /// Writes a file, creating its directories.
    pub(crate) fn write(&self, rel: &str, content: &str) -> &Project {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        self
    }

    /// Writes an executable file (a test script, a task's helper).
    pub(crate) fn write_executable(&self, rel: &str, content: &str) -> &Project {
        use std::os::unix::fs::PermissionsExt;
        self.write(rel, content);
        std::fs::set_permissions(self.join(rel), std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// Appends to a file (creating it).
    pub(crate) fn append(&self, rel: &str, content: &str) -> &Project {
        let old = std::fs::read_to_string(self.join(rel)).unwrap_or_default();
        self.write(rel, &(old + content))
    }

    #[track_caller]
    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel} in the project: {e}"))
    }

    pub(crate) fn exists(&self, rel: &str) -> bool {
        self.join(rel).symlink_metadata().is_ok()
    }

    pub(crate) fn remove(&self, rel: &str) {
        std::fs::remove_file(self.join(rel)).unwrap();
    }

    /// Replaces `text` by `placeholder` (`[A-Z_]` in brackets) in every exact comparison.
    pub(crate) fn redact(&self, placeholder: &'static str, text: &str) {
        self.redactions
            .borrow_mut()
            .push((placeholder, text.to_string()));
    }

    /// The file, with this project's redactions and the usual ones, equals `expected`
    /// (`SNAPSHOTS=overwrite` rewrites an inline `str![]`).
    #[track_caller]
    pub(crate) fn file_eq(&self, rel: &str, expected: impl snapbox::IntoData) {
        snapshot::assert_eq(self, self.read(rel), expected);
    }

    /// A new command in this project.
    pub(crate) fn test(&self) -> Test {
        Test::with_project(self.clone())
    }

    /// `artifacts/run.json`, parsed.
    #[track_caller]
    pub(crate) fn run_json(&self) -> Value {
        serde_json::from_str(&self.read("artifacts/run.json")).expect("run.json is JSON")
    }

    /// The run.json entry of `task`.
    #[track_caller]
    pub(crate) fn run_entry(&self, task: &str) -> Value {
        let json = self.run_json();
        json["tasks"]
            .as_array()
            .expect("run.json has a tasks array")
            .iter()
            .find(|t| t["name"] == task)
            .cloned()
            .unwrap_or_else(|| panic!("task {task} not in run.json:\n{json:#}"))
    }

    /// Tasks whose name starts with `prefix` and whose status in run.json is `ran`, sorted.
    #[track_caller]
    pub(crate) fn ran(&self, prefix: &str) -> Vec<String> {
        let json = self.run_json();
        let mut names: Vec<String> = json["tasks"]
            .as_array()
            .expect("run.json has a tasks array")
            .iter()
            .filter(|t| t["status"] == "ran")
            .filter_map(|t| t["name"].as_str())
            .filter(|n| n.starts_with(prefix))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// Lines of an `artifacts/` list file (IMAGES_BUILT...); none when it is absent.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.join("artifacts").join(name))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    pub(crate) fn redactions(&self) -> Vec<(&'static str, String)> {
        self.redactions.borrow().clone()
    }
}

#[must_use]
pub(crate) struct Test {
    project: Project,
    args: Vec<String>,
    env: Vec<(String, String)>,
    current_dir: String,
    /// Accepted exit codes (one, unless the test cannot know which of them happens).
    statuses: Vec<i32>,
    /// How long dorun may take before it is killed and the test fails.
    limit: Option<Duration>,
    umask: Option<libc::mode_t>,
    stdout_contains: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_contains: Vec<String>,
    stderr_lacks: Vec<String>,
    stdout_eq: Option<snapbox::Data>,
    stderr_eq: Option<snapbox::Data>,
    /// (task, status word) expected in run.json.
    tasks: Vec<(String, String)>,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

/// A run started with `spawn` that nobody stops is killed after this long.
const SPAWN_LIMIT: Duration = Duration::from_secs(30);
/// A run started with `run` is killed after this long: a hang fails, never stalls the suite.
const RUN_LIMIT: Duration = Duration::from_secs(600);

impl Test {
    pub(crate) fn new() -> Test {
        Test::with_project(Project::new())
    }

    pub(crate) fn with_project(project: Project) -> Test {
        Test {
            project,
            args: Vec::new(),
            env: Vec::new(),
            current_dir: String::new(),
            statuses: vec![0],
            limit: None,
            umask: None,
            stdout_contains: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_contains: Vec::new(),
            stderr_lacks: Vec::new(),
            stdout_eq: None,
            stderr_eq: None,
            tasks: Vec::new(),
        }
    }

    pub(crate) fn project(&self) -> &Project {
        &self.project
    }

    pub(crate) fn tasks_toml(self, text: &str) -> Test {
        self.file("tasks.toml", text)
    }

    pub(crate) fn file(self, rel: &str, content: &str) -> Test {
        self.project.write(rel, content);
        self
    }

    pub(crate) fn arg(mut self, arg: &str) -> Test {
        self.args.push(arg.to_string());
        self
    }

    pub(crate) fn args(mut self, args: &[&str]) -> Test {
        self.args
            .extend(args.iter().map(std::string::ToString::to_string));
        self
    }

    /// Sets a variable for dorun (the scrubbed environment has none of the outer ones).
    pub(crate) fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs dorun from this sub-directory of the project.
    pub(crate) fn current_dir(mut self, rel: &str) -> Test {
        self.current_dir = rel.to_string();
        self
    }

    /// The expected exit code (default 0).
    pub(crate) fn status(mut self, code: i32) -> Test {
        self.statuses = vec![code];
        self
    }

    /// Any of these exit codes (a run that may end before the test kills it).
    pub(crate) fn status_one_of(mut self, codes: &[i32]) -> Test {
        self.statuses = codes.to_vec();
        self
    }

    /// Kills dorun and fails the test when it runs longer than `limit`.
    pub(crate) fn within(mut self, limit: Duration) -> Test {
        self.limit = Some(limit);
        self
    }

    /// Runs dorun under this umask instead of the test process's.
    pub(crate) fn umask(mut self, mask: libc::mode_t) -> Test {
        self.umask = Some(mask);
        self
    }

    pub(crate) fn stdout_contains(mut self, text: &str) -> Test {
        self.stdout_contains.push(text.to_string());
        self
    }

    pub(crate) fn stdout_lacks(mut self, text: &str) -> Test {
        self.stdout_lacks.push(text.to_string());
        self
    }

    pub(crate) fn stderr_contains(mut self, text: &str) -> Test {
        self.stderr_contains.push(text.to_string());
        self
    }

    pub(crate) fn stderr_lacks(mut self, text: &str) -> Test {
        self.stderr_lacks.push(text.to_string());
        self
    }

    /// stdout, redacted (see `snapshot`), equals `expected` exactly.
    pub(crate) fn stdout_eq(mut self, expected: impl snapbox::IntoData) -> Test {
        self.stdout_eq = Some(expected.into_data());
        self
    }

    /// stderr, redacted (see `snapshot`), equals `expected` exactly.
    pub(crate) fn stderr_eq(mut self, expected: impl snapbox::IntoData) -> Test {
        self.stderr_eq = Some(expected.into_data());
        self
    }

    /// Expects `task` in artifacts/run.json with this status (`ran`, `up-to-date`, ...).
    pub(crate) fn task(mut self, task: &str, status: &str) -> Test {
        self.tasks.push((task.to_string(), status.to_string()));
        self
    }

    /// Shorthand: each of `names` ran.
    pub(crate) fn ran(mut self, names: &[&str]) -> Test {
        for n in names {
            self = self.task(n, "ran");
        }
        self
    }

    /// Shorthand: each of `names` was up to date.
    pub(crate) fn fresh(mut self, names: &[&str]) -> Test {
        for n in names {
            self = self.task(n, "up-to-date");
        }
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(DORUN);
        scrub(&mut cmd, self.project.home()).env("NO_COLOR", "1");
        if !self.args.iter().any(|a| a.starts_with("--progress")) {
            cmd.arg("--progress").arg("plain");
        }
        cmd.args(&self.args)
            .current_dir(self.project.path().join(&self.current_dir))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(mask) = self.umask {
            use std::os::unix::process::CommandExt;
            // SAFETY: umask(2) only, between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    libc::umask(mask);
                    Ok(())
                });
            }
        }
        cmd
    }

    #[track_caller]
    pub(crate) fn run(self) -> Output {
        let limit = self.limit.unwrap_or(RUN_LIMIT);
        self.within(limit).spawn().wait()
    }

    /// Starts dorun without waiting; `Running::wait` checks the expectations.
    pub(crate) fn spawn(self) -> Running {
        if !self.tasks.is_empty() {
            // A stale run.json from an earlier step must not satisfy the expectations.
            let _ = std::fs::remove_file(self.project.join("artifacts/run.json"));
        }
        let mut child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {DORUN}: {e}"));
        let stdout = Captured::start(child.stdout.take());
        let stderr = Captured::start(child.stderr.take());
        Running {
            test: self,
            child: Some(child),
            started: Instant::now(),
            stdout,
            stderr,
        }
    }

    #[track_caller]
    fn check(self, status: i32, stdout: String, stderr: String, elapsed: Duration) -> Output {
        let mut bad = Vec::new();
        if !self.statuses.contains(&status) {
            let expected: Vec<String> = self.statuses.iter().map(i32::to_string).collect();
            bad.push(format!(
                "exit status {status}, expected {}",
                expected.join(" or ")
            ));
        }
        for want in &self.stdout_contains {
            if !stdout.contains(want.as_str()) {
                bad.push(format!("stdout lacks {want:?}"));
            }
        }
        for unwanted in &self.stdout_lacks {
            if stdout.contains(unwanted.as_str()) {
                bad.push(format!("stdout contains {unwanted:?}"));
            }
        }
        for want in &self.stderr_contains {
            if !stderr.contains(want.as_str()) {
                bad.push(format!("stderr lacks {want:?}"));
            }
        }
        for unwanted in &self.stderr_lacks {
            if stderr.contains(unwanted.as_str()) {
                bad.push(format!("stderr contains {unwanted:?}"));
            }
        }
        if !self.tasks.is_empty() {
            match std::fs::read_to_string(self.project.join("artifacts/run.json")) {
                Err(e) => bad.push(format!("no artifacts/run.json: {e}")),
                Ok(text) => {
                    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let tasks = json["tasks"].as_array().cloned().unwrap_or_default();
                    for (name, want) in &self.tasks {
                        match tasks.iter().find(|t| t["name"] == name.as_str()) {
                            None => bad.push(format!("task {name} missing from run.json")),
                            Some(t) if t["status"] != want.as_str() => bad.push(format!(
                                "task {name}: status {}, expected {want:?} (reason {})",
                                t["status"], t["reason"]
                            )),
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        if !bad.is_empty() {
            panic!(
                "dorun {:?} (in {}/{}) did not behave as expected:\n  - {}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}--------------",
                self.args,
                self.project.path().display(),
                self.current_dir,
                bad.join("\n  - "),
            );
        }
        if let Some(expected) = self.stdout_eq {
            snapshot::assert_eq(&self.project, stdout.clone(), expected);
        }
        if let Some(expected) = self.stderr_eq {
            snapshot::assert_eq(&self.project, stderr.clone(), expected);
        }
        Output {
            project: self.project,
            status,
            stdout,
            stderr,
            elapsed,
        }
    }
}

/// A finished dorun run.
pub(crate) struct Output {
    pub project: Project,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// The next command in the same project.
    pub(crate) fn test(&self) -> Test {
        self.project.test()
    }

    /// stdout then stderr, for text that may be on either.
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// One output stream of a running dorun, read as it comes (so a full pipe never blocks dorun).
struct Captured {
    text: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Captured {
    fn start(stream: Option<impl Read + Send + 'static>) -> Captured {
        let text = Arc::new(Mutex::new(String::new()));
        let reader = stream.map(|mut stream| {
            let text = Arc::clone(&text);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    text.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            })
        });
        Captured { text, reader }
    }

    fn so_far(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// Everything, once the stream is closed.
    fn finish(mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.so_far()
    }
}

/// A dorun process started with `Test::spawn`.
pub(crate) struct Running {
    test: Test,
    /// Taken by the thread that waits for the exit.
    child: Option<Child>,
    started: Instant,
    stdout: Captured,
    stderr: Captured,
}

impl Running {
    pub(crate) fn pid(&self) -> i32 {
        self.child.as_ref().expect("not reaped yet").id() as i32
    }

    pub(crate) fn project(&self) -> &Project {
        &self.test.project
    }

    pub(crate) fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid (not yet reaped, so never another process).
        let r = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(r, 0, "kill({}, {signal}) failed", self.pid());
    }

    /// What dorun printed on stderr so far.
    pub(crate) fn stderr_so_far(&self) -> String {
        self.stderr.so_far()
    }

    /// Polls `ready` `every` so often until it holds (true) or dorun ends first (false);
    /// panics naming `what` after `secs` seconds.
    #[track_caller]
    pub(crate) fn wait_until(
        &mut self,
        what: &str,
        secs: u64,
        every: Duration,
        mut ready: impl FnMut(&Running) -> bool,
    ) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if ready(self) {
                return true;
            }
            let child = self.child.as_mut().expect("not reaped yet");
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "timed out after {secs} s waiting for {what}\n--- stderr ---\n{}",
                    self.stderr_so_far()
                );
            }
            std::thread::sleep(every);
        }
    }

    /// Waits (at most the `within` limit, else 30 s, from now) and checks the expectations.
    #[track_caller]
    pub(crate) fn wait(mut self) -> Output {
        let limit = self.test.limit.unwrap_or(SPAWN_LIMIT);
        let status = self.reap(limit);
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        let elapsed = self.started.elapsed();
        let stdout = self.stdout.finish();
        let stderr = self.stderr.finish();
        self.test.check(code, stdout, stderr, elapsed)
    }

    /// Waits for the exit (on a thread, so the wait ends the moment dorun does); kills it and
    /// panics past `limit`.
    #[track_caller]
    fn reap(&mut self, limit: Duration) -> ExitStatus {
        let pid = self.pid();
        let mut child = self.child.take().expect("reaped once");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(limit) {
            Ok(status) => status.unwrap(),
            Err(_) => {
                // SAFETY: kill(2) on our child, which the waiter thread has not reaped.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                let _ = rx.recv();
                panic!(
                    "dorun {:?} did not finish within {limit:?}\n--- stderr ---\n{}",
                    self.test.args,
                    self.stderr_so_far()
                );
            }
        }
    }
}
