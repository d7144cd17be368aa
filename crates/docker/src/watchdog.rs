//! The deadline that holds without dorun: a run container's PID 1 is a few lines of the
//! image's own `/bin/sh` that start the command and, when its time is up, exit. PID 1 exiting
//! stops the container (the kernel kills everything else in it) and the engine then removes it
//! (`AutoRemove`), so a container of a `kill -9`'d dorun is gone shortly after its timeout.
//!
//! Why this shape: the engine has no "maximum run time" for a container, a host-side reaper
//! dies with the machine or CI job that ran dorun (while the engine may be remote), and an
//! injected static binary would have to match the engine's architecture. Nearly every image a
//! test runs in has `/bin/sh` (checks run `sh -c`), and POSIX `sh` gives all that is needed:
//! `trap`, `wait`, `kill` as builtins, plus `sleep`. Images without `/bin/sh` run unwatched
//! (the engine refuses to start the wrapper, and [`Engine::run`] starts the command alone):
//! there only dorun's own timeout and the next run's sweep guard them.
//!
//! PID 1 ignores signals it has no handler for, even SIGKILL from inside the container, which
//! is why the watchdog signals PID 1 (`USR1`, trapped) rather than trying to kill it: the trap
//! exits, whatever the command does (ignores signals, runs as another user).
//!
//! [`Engine::run`]: crate::Engine::run

use std::time::Duration;

/// Extra time the in-container deadline allows past the run's timeout, so that while dorun
/// lives its own kill (reported as "timed out") comes first.
pub(crate) const GRACE: Duration = Duration::from_secs(2);

/// The shell the wrapper needs in the image.
pub(crate) const SHELL: &str = "/bin/sh";

/// `$1` is the deadline in seconds; the command follows. Exit code: the command's, or 137
/// (as for SIGKILL) when the deadline ends it.
pub(crate) const SCRIPT: &str = "trap 'exit 137' USR1
(sleep \"$1\" && kill -USR1 $$) >/dev/null 2>&1 &
shift
\"$@\" &
wait $!
";

/// `$0` of the wrapper: what `ps` in the container shows.
const NAME: &str = "dorun-deadline";

/// The command line that runs `argv` under a deadline of `timeout` + [`GRACE`]; `None` when
/// there is no command to wrap.
pub(crate) fn wrap(argv: &[String], timeout: Duration) -> Option<Vec<String>> {
    if argv.is_empty() {
        return None;
    }
    let secs = (timeout + GRACE).as_secs_f64().ceil() as u64;
    let mut wrapped = vec![
        SHELL.to_string(),
        "-c".to_string(),
        SCRIPT.to_string(),
        NAME.to_string(),
        secs.to_string(),
    ];
    wrapped.extend(argv.iter().cloned());
    Some(wrapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    /// Runs the wrapper with the host's `/bin/sh`, as the container would. Outside a container
    /// the wrapper is not PID 1, so what it leaves running is killed here (in a container the
    /// kernel does that when PID 1 exits).
    fn run(argv: &[&str], timeout: Duration) -> (i32, String, Duration) {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let wrapped = wrap(&argv, timeout).unwrap();
        let started = Instant::now();
        let mut child = Command::new(&wrapped[0])
            .args(&wrapped[1..])
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let status = child.wait().unwrap();
        let took = started.elapsed();
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        (status.code().unwrap_or(-1), out, took)
    }

    #[test]
    fn the_command_runs_with_its_arguments_and_exit_code() {
        let (code, out, _) = run(
            &["sh", "-c", "echo \"$0|$1\"; exit 3", "a b", "c"],
            Duration::from_secs(30),
        );
        assert_eq!((code, out.as_str()), (3, "a b|c\n"));
    }

    #[test]
    fn the_deadline_ends_a_command_that_ignores_signals() {
        let (code, _, took) = run(
            &["sh", "-c", "trap '' TERM INT USR1; sleep 30"],
            Duration::from_millis(100),
        );
        assert_eq!(code, 137);
        // timeout 0.1 s + 2 s grace, rounded up to whole seconds.
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_secs(10),
            "{took:?}"
        );
    }

    #[test]
    fn nothing_to_wrap() {
        assert_eq!(wrap(&[], Duration::from_secs(1)), None);
        let w = wrap(&["true".to_string()], Duration::from_millis(1500)).unwrap();
        assert_eq!(w[4], "4");
        assert_eq!(w.last().unwrap(), "true");
    }
}
