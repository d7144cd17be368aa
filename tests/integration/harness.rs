//! The `Test` builder every integration test uses (in the style of casey/just's tests/test.rs):
//! a temporary project, the real `dorun` binary run with `--progress plain` and `NO_COLOR=1`, and
//! expectations that are all checked, every mismatch reported at once.
#![allow(dead_code)] // not every test module uses every helper

use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The binary under test.
pub const DORUN: &str = env!("CARGO_BIN_EXE_dorun");

/// A temporary project directory shared by the steps of one test.
#[derive(Clone)]
pub struct Project {
    dir: Rc<tempfile::TempDir>,
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("dorun-it-")
            .tempdir()
            .expect("create a temp dir");
        Project { dir: Rc::new(dir) }
    }

    /// The canonical project root (what dorun prints in paths).
    pub fn path(&self) -> PathBuf {
        std::fs::canonicalize(self.dir.path()).unwrap()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    /// Writes a file, creating its directories.
    pub fn write(&self, rel: &str, content: &str) -> &Project {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        self
    }

    #[track_caller]
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel} in the project: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.join(rel).symlink_metadata().is_ok()
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.join(rel)).unwrap();
    }

    /// A new command in this project.
    pub fn test(&self) -> Test {
        Test::with_project(self.clone())
    }

    /// `artifacts/run.json`, parsed.
    #[track_caller]
    pub fn run_json(&self) -> Value {
        serde_json::from_str(&self.read("artifacts/run.json")).expect("run.json is JSON")
    }

    /// The run.json entry of `task`.
    #[track_caller]
    pub fn run_entry(&self, task: &str) -> Value {
        let json = self.run_json();
        json["tasks"]
            .as_array()
            .expect("run.json has a tasks array")
            .iter()
            .find(|t| t["name"] == task)
            .cloned()
            .unwrap_or_else(|| panic!("task {task} not in run.json:\n{json:#}"))
    }
}

#[must_use]
pub struct Test {
    project: Project,
    args: Vec<String>,
    env: Vec<(String, String)>,
    current_dir: String,
    status: i32,
    stdout_contains: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_contains: Vec<String>,
    stderr_lacks: Vec<String>,
    /// (task, status word) expected in run.json.
    tasks: Vec<(String, String)>,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    pub fn new() -> Test {
        Test::with_project(Project::new())
    }

    pub fn with_project(project: Project) -> Test {
        Test {
            project,
            args: Vec::new(),
            env: Vec::new(),
            current_dir: String::new(),
            status: 0,
            stdout_contains: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_contains: Vec::new(),
            stderr_lacks: Vec::new(),
            tasks: Vec::new(),
        }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn tasks_toml(self, text: &str) -> Test {
        self.file("tasks.toml", text)
    }

    pub fn file(self, rel: &str, content: &str) -> Test {
        self.project.write(rel, content);
        self
    }

    pub fn arg(mut self, arg: &str) -> Test {
        self.args.push(arg.to_string());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs dorun from this sub-directory of the project.
    pub fn current_dir(mut self, rel: &str) -> Test {
        self.current_dir = rel.to_string();
        self
    }

    /// The expected exit code (default 0).
    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    pub fn stdout_contains(mut self, text: &str) -> Test {
        self.stdout_contains.push(text.to_string());
        self
    }

    pub fn stdout_lacks(mut self, text: &str) -> Test {
        self.stdout_lacks.push(text.to_string());
        self
    }

    pub fn stderr_contains(mut self, text: &str) -> Test {
        self.stderr_contains.push(text.to_string());
        self
    }

    pub fn stderr_lacks(mut self, text: &str) -> Test {
        self.stderr_lacks.push(text.to_string());
        self
    }

    /// Expects `task` in artifacts/run.json with this status (`ran`, `up-to-date`, ...).
    pub fn task(mut self, task: &str, status: &str) -> Test {
        self.tasks.push((task.to_string(), status.to_string()));
        self
    }

    /// Shorthand: each of `names` ran.
    pub fn ran(mut self, names: &[&str]) -> Test {
        for n in names {
            self = self.task(n, "ran");
        }
        self
    }

    /// Shorthand: each of `names` was up to date.
    pub fn fresh(mut self, names: &[&str]) -> Test {
        for n in names {
            self = self.task(n, "up-to-date");
        }
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(DORUN);
        if !self.args.iter().any(|a| a.starts_with("--progress")) {
            cmd.arg("--progress").arg("plain");
        }
        cmd.args(&self.args)
            .current_dir(self.project.path().join(&self.current_dir))
            .env("NO_COLOR", "1")
            .env_remove("DORUN_JOBS")
            .env_remove("DORUN_PROGRESS")
            .env_remove("DORUN_REGISTRY")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn prepare(&self) {
        if !self.tasks.is_empty() {
            // A stale run.json from an earlier step must not satisfy the expectations.
            let _ = std::fs::remove_file(self.project.join("artifacts/run.json"));
        }
    }

    #[track_caller]
    pub fn run(self) -> Output {
        self.prepare();
        let started = Instant::now();
        let out = self
            .command()
            .output()
            .unwrap_or_else(|e| panic!("cannot run {DORUN}: {e}"));
        self.check(
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    }

    /// Starts dorun without waiting; `Running::wait` checks the expectations.
    pub fn spawn(self) -> Running {
        self.prepare();
        let child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {DORUN}: {e}"));
        Running {
            test: self,
            child,
            started: Instant::now(),
        }
    }

    #[track_caller]
    fn check(self, status: i32, stdout: String, stderr: String, elapsed: Duration) -> Output {
        let mut bad = Vec::new();
        if status != self.status {
            bad.push(format!("exit status {status}, expected {}", self.status));
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
pub struct Output {
    pub project: Project,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// The next command in the same project.
    pub fn test(&self) -> Test {
        self.project.test()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A dorun process started with `Test::spawn`.
pub struct Running {
    test: Test,
    child: Child,
    started: Instant,
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let r = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(r, 0, "kill({}, {signal}) failed", self.pid());
    }

    /// Waits (at most 30 s) and checks the expectations.
    #[track_caller]
    pub fn wait(mut self) -> Output {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("dorun {:?} did not finish within 30 s", self.test.args);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            let _ = s.read_to_string(&mut stdout);
        }
        if let Some(mut s) = self.child.stderr.take() {
            let _ = s.read_to_string(&mut stderr);
        }
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        let elapsed = self.started.elapsed();
        self.test.check(code, stdout, stderr, elapsed)
    }
}
