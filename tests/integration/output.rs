//! What dorun prints while tasks run (issue 2 point 8): plain lines for pipes and CI, quiet mode,
//! indicatif progress on a terminal (checked through a pseudo-terminal from `script`), NO_COLOR.
use crate::harness::{scrub, Project, Test, DORUN};
use std::process::Command;

/// Runs dorun on a pseudo-terminal (util-linux `script`) and returns everything it printed.
/// The one dorun of the tests not run by `Test`, which has no terminal to give it; its
/// environment is scrubbed the same way, without `NO_COLOR`.
fn on_a_terminal(p: &Project, args: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("script");
    scrub(&mut cmd, p.home())
        .arg("-qec")
        .arg(format!("{DORUN} {args}"))
        .arg("/dev/null")
        .current_dir(p.path())
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    let out = cmd.output().expect("util-linux `script` runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const GREEN: &str = "\x1b[32m";

#[test]
fn a_terminal_gets_progress_bars_and_colour_unless_no_color() {
    let p = Test::new()
        .tasks_toml("[tasks.t]\nrun = 'sleep 0.5'\nalways = true\n")
        .project()
        .clone();
    let shown = on_a_terminal(&p, "t", &[]);
    assert!(shown.contains("1 ran"), "{shown:?}");
    assert!(shown.contains("/1 tasks"), "no overall bar: {shown:?}");
    assert!(shown.contains(GREEN), "no colour on a terminal: {shown:?}");
    let shown = on_a_terminal(&p, "t", &[("NO_COLOR", "1")]);
    assert!(shown.contains("1 ran"), "{shown:?}");
    assert!(!shown.contains(GREEN), "colour despite NO_COLOR: {shown:?}");
    // --progress plain on a terminal: one line per event, no control codes at all.
    let shown = on_a_terminal(&p, "--progress plain t", &[]);
    assert!(shown.contains("start t"), "{shown:?}");
    assert!(
        !shown.contains('\x1b'),
        "control codes in plain mode: {shown:?}"
    );
    // DORUN_PROGRESS chooses the same way.
    let shown = on_a_terminal(&p, "t", &[("DORUN_PROGRESS", "plain")]);
    assert!(
        shown.contains("start t") && !shown.contains('\x1b'),
        "{shown:?}"
    );
    let shown = on_a_terminal(&p, "t", &[("DORUN_PROGRESS", "quiet")]);
    assert!(
        !shown.contains("start t") && !shown.contains("1 ran"),
        "{shown:?}"
    );
}

#[test]
fn quiet_prints_only_failures_and_plain_has_no_control_codes() {
    let t = Test::new().tasks_toml("[tasks.ok]\nrun = 'true'\n[tasks.bad]\nrun = 'false'\n");
    let p = t.project().clone();
    let out = t.args(&["--progress", "quiet", "ok"]).run();
    assert_eq!(out.stderr, "", "quiet printed on success");
    p.test()
        .args(&["--progress=quiet", "bad"])
        .status(1)
        .stderr_contains("FAIL  bad")
        .run();
    let out = p.test().args(&["-k", "-B", "ok", "bad"]).status(1).run();
    assert!(
        !out.stderr.contains('\x1b'),
        "control codes in plain output"
    );
    // --progress tty with NO_COLOR on a pipe: still no colour codes in the closing lines.
    let out = p.test().args(&["--progress", "tty", "-B", "ok"]).run();
    assert!(out.stderr.contains("1 ran"), "{}", out.stderr);
    assert!(!out.stderr.contains("\x1b[3"), "colour despite NO_COLOR");
}

#[test]
fn artifacts_are_readable_by_everyone_like_other_build_outputs() {
    use std::os::unix::fs::PermissionsExt;
    let p = Test::new()
        .tasks_toml("[tasks.t]\nrun = 'true'\n")
        .project()
        .clone();
    p.test().arg("t").umask(0o022).run();
    let mode = std::fs::metadata(p.join("artifacts/run.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644, "run.json mode {mode:o}");
}
