//! Child processes: each shell command runs in its own process group so a timeout or Ctrl-C can
//! kill everything it started; the registry of live groups lets the coordinator kill them all.
use std::collections::HashSet;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct Procs {
    groups: Mutex<HashSet<i32>>,
    pub interrupted: std::sync::Arc<AtomicBool>,
}

/// How a command ended, when it did not succeed.
#[derive(Debug)]
pub(crate) struct CommandFailure {
    pub message: String,
    pub exit_code: Option<i32>,
    /// Killed because `timeout` ran out (the caller words the message with the task's limit).
    pub timed_out: bool,
}

impl Procs {
    /// Sends `signal` to every live process group (Ctrl-C: TERM, then KILL).
    pub(crate) fn signal_all(&self, signal: i32) {
        for &pgid in crate::sync::lock(&self.groups).iter() {
            // SAFETY: killpg(2) takes plain integers; a group that is already gone is ESRCH.
            unsafe {
                libc::killpg(pgid, signal);
            }
        }
    }

    pub(crate) fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Runs `sh -c command` with output appended to `log`; kills the group after `timeout`.
    pub(crate) fn run_shell(
        &self,
        command: &str,
        cwd: &Path,
        env: &std::collections::BTreeMap<String, String>,
        log: &File,
        timeout: Option<Duration>,
    ) -> Result<(), CommandFailure> {
        let io_err = |e: std::io::Error| CommandFailure {
            message: format!("cannot start `sh -c`: {e}"),
            exit_code: None,
            timed_out: false,
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .current_dir(cwd)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_err)?)
            .stderr(log.try_clone().map_err(io_err)?)
            .process_group(0);
        // If dorun itself is killed (-9), take the command down with it rather than leave it
        // writing outputs that no record will ever vouch for.
        // SAFETY: between fork and exec only async-signal-safe calls are allowed; prctl(2) is
        // one, and the closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| CommandFailure {
            message: format!("cannot start `sh -c` in {}: {e}", cwd.display()),
            exit_code: None,
            timed_out: false,
        })?;
        let pgid = child.id() as i32;
        crate::sync::lock(&self.groups).insert(pgid);
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let result = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            if let Some(limit) = timeout {
                if started.elapsed() >= limit {
                    // SAFETY: killpg(2) on the group this function created; plain integers.
                    unsafe {
                        libc::killpg(pgid, libc::SIGKILL);
                    }
                    let _ = child.wait();
                    crate::sync::lock(&self.groups).remove(&pgid);
                    return Err(CommandFailure {
                        message: format!("timed out after {}", humantime::format_duration(limit)),
                        exit_code: None,
                        timed_out: true,
                    });
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        };
        crate::sync::lock(&self.groups).remove(&pgid);
        let status = result.map_err(|e| CommandFailure {
            message: format!("waiting for the command failed: {e}"),
            exit_code: None,
            timed_out: false,
        })?;
        if status.success() {
            return Ok(());
        }
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Err(CommandFailure {
                message: format!("`{command}` exited with code {code}"),
                exit_code: Some(code),
                timed_out: false,
            }),
            (None, Some(sig)) => Err(CommandFailure {
                message: format!("`{command}` was killed by signal {sig}"),
                exit_code: Some(128 + sig),
                timed_out: false,
            }),
            _ => Err(CommandFailure {
                message: format!("`{command}` failed"),
                exit_code: None,
                timed_out: false,
            }),
        }
    }
}
