//! Process and file helpers for the tests that race dorun: polling with a deadline, whether a
//! pid still runs, pids written by tasks, copying a project.
use crate::harness::Project;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Polls `cond` every 10 ms until it holds; panics naming `what` after `secs` seconds.
#[track_caller]
pub(crate) fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        if Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True while `pid` is a live process (a zombie counts as gone: it runs nothing).
pub(crate) fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            // pid (comm) STATE ...: the state follows the last ')'.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X') | None)
        }
    }
}

/// Reads a pid written by a task (`echo $! > child.pid`), waiting until it is there.
#[track_caller]
pub(crate) fn read_pid(project: &Project, rel: &str) -> i32 {
    let mut pid = None;
    wait_for(&format!("a pid in {rel}"), 10, || {
        pid = std::fs::read_to_string(project.join(rel))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    pid.unwrap()
}

/// Copies a directory tree (`cp -a`), for the "move the project" tests.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp -a failed");
}
