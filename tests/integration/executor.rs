//! The executor (issue 2 points 6 and 8): dependencies first, `-j` parallelism, failures skip
//! dependents, `-k`, timeouts that kill the process group, run.json and logs/<task>.log.
use crate::harness::{Project, Test};
use crate::sys::{alive, read_pid, wait_for};
use snapbox::str;
use std::time::Duration;

/// Each task waits until the other has started: both finish only if they ran at the same time.
const MEET: &str = r#"
[tasks.a]
run = 'touch a.start; i=0; while [ ! -f b.start ]; do sleep 0.01; i=$((i+1)); if [ $i -gt 1000 ]; then exit 9; fi; done'
[tasks.b]
run = 'touch b.start; i=0; while [ ! -f a.start ]; do sleep 0.01; i=$((i+1)); if [ $i -gt 1000 ]; then exit 9; fi; done'
[tasks.both]
run = "true"
deps = ["a", "b"]
"#;

#[test]
fn independent_tasks_overlap_with_jobs_4() {
    Test::new()
        .tasks_toml(MEET)
        .args(&["-j", "4", "both"])
        .ran(&["a", "b", "both"])
        .run();
}

/// Start and end of each task in nanoseconds, written by the task itself.
const TIMED: &str = r#"
[tasks.a]
run = 'date +%s%N > a.start; sleep 0.2; date +%s%N > a.end'
[tasks.b]
run = 'date +%s%N > b.start; sleep 0.2; date +%s%N > b.end'
[tasks.c]
run = 'date +%s%N > c.start; sleep 0.2; date +%s%N > c.end'
"#;

fn span(p: &Project, name: &str) -> (u128, u128) {
    let read = |f: String| p.read(&f).trim().parse::<u128>().unwrap();
    (read(format!("{name}.start")), read(format!("{name}.end")))
}

fn overlap(x: (u128, u128), y: (u128, u128)) -> bool {
    x.0 < y.1 && y.0 < x.1
}

#[test]
fn jobs_1_runs_one_task_at_a_time() {
    let t = Test::new().tasks_toml(TIMED);
    let p = t.project().clone();
    t.args(&["-j", "1", "a", "b", "c"])
        .ran(&["a", "b", "c"])
        .run();
    let spans = [span(&p, "a"), span(&p, "b"), span(&p, "c")];
    for i in 0..3 {
        for j in i + 1..3 {
            assert!(!overlap(spans[i], spans[j]), "tasks overlapped with -j 1");
        }
    }
    // DORUN_JOBS and settings.jobs limit the same way.
    p.test()
        .env("DORUN_JOBS", "1")
        .args(&["-B", "a", "b"])
        .ran(&["a", "b"])
        .run();
    assert!(
        !overlap(span(&p, "a"), span(&p, "b")),
        "DORUN_JOBS=1 ignored"
    );
    p.write("tasks.toml", &format!("[settings]\njobs = 1\n{TIMED}"));
    p.test().args(&["-B", "a", "b"]).run();
    assert!(
        !overlap(span(&p, "a"), span(&p, "b")),
        "settings.jobs ignored"
    );
    // And -j 3 runs them side by side.
    p.test().args(&["-B", "-j", "3", "a", "b", "c"]).run();
    let spans = [span(&p, "a"), span(&p, "b"), span(&p, "c")];
    assert!(
        overlap(spans[0], spans[1]) || overlap(spans[1], spans[2]) || overlap(spans[0], spans[2]),
        "no two tasks overlapped with -j 3"
    );
}

#[test]
fn dependencies_run_first_in_a_diamond() {
    let out = Test::new()
        .tasks_toml(
            r#"
[tasks.top]
run = "echo top >> order.txt"
deps = ["left", "right"]
[tasks.left]
run = "sleep 0.05; echo left >> order.txt"
deps = ["base"]
[tasks.right]
run = "echo right >> order.txt"
deps = ["base"]
[tasks.base]
run = "echo base >> order.txt"
"#,
        )
        .args(&["-j", "4", "top"])
        .ran(&["base", "left", "right", "top"])
        .run();
    let order = out.project.read("order.txt");
    let lines: Vec<&str> = order.lines().collect();
    assert_eq!(lines.len(), 4, "{order}");
    assert_eq!(lines[0], "base");
    assert_eq!(lines[3], "top");
}

const FAILING: &str = r#"
[tasks.bad]
run = ["echo about to fail", "touch bad.started; exit 7"]
[tasks.child]
run = "touch child.done"
deps = ["bad"]
[tasks.grandchild]
run = "touch grandchild.done"
deps = ["child"]
[tasks.slow]
run = "while [ ! -f bad.started ]; do sleep 0.01; done; sleep 0.5; touch slow.done"
[tasks.late]
run = "touch late.done"
deps = ["slow"]
"#;

#[test]
fn a_failure_skips_dependents_lets_running_tasks_finish_and_starts_nothing_new() {
    let out = Test::new()
        .tasks_toml(FAILING)
        .args(&["-j", "2", "grandchild", "late"])
        .status(1)
        .task("bad", "failed")
        .task("child", "skipped")
        .task("grandchild", "skipped")
        .task("slow", "ran")
        .task("late", "skipped")
        .stderr_contains("FAIL  bad: `touch bad.started; exit 7` exited with code 7")
        .stderr_contains("failed (1):")
        .stderr_contains("skipped (3):")
        .stderr_contains("  child: dependency bad failed")
        .stderr_contains("use -k to keep going")
        .stderr_contains("1 ran, 0 up to date, 1 failed, 3 skipped")
        .stderr_eq(str![[r#"
...
FAIL  bad: `touch bad.started; exit 7` exited with code 7
  | $ echo about to fail
  | about to fail
  | $ touch bad.started; exit 7
  (full log: [ROOT]/logs/bad.log)
...
failed (1):
  bad: `touch bad.started; exit 7` exited with code 7
skipped (3):
  child: dependency bad failed
  grandchild: dependency bad failed
  late: not started: stopped after bad failed (use -k to keep going)
1 ran, 0 up to date, 1 failed, 3 skipped

"#]])
        .run();
    // Plain lines read in order: the failure, then what it skipped.
    let fail = out.stderr.find("FAIL  bad").unwrap();
    let skip = out
        .stderr
        .find("skip  child: dependency bad failed")
        .unwrap();
    assert!(
        fail < skip,
        "skip printed before its failure:\n{}",
        out.stderr
    );
    let p = &out.project;
    assert!(p.exists("slow.done"), "the running task was not let finish");
    assert!(!p.exists("child.done"));
    assert!(
        !p.exists("late.done"),
        "a new task started after the failure"
    );
    assert_eq!(p.run_entry("bad")["exit_code"], 7);
    assert_eq!(p.run_json()["exit_code"], 1);
}

#[test]
fn keep_going_runs_everything_not_depending_on_a_failure() {
    let out = Test::new()
        .tasks_toml(FAILING)
        .args(&["-k", "-j", "2", "grandchild", "late"])
        .status(1)
        .task("bad", "failed")
        .task("child", "skipped")
        .task("grandchild", "skipped")
        .ran(&["slow", "late"])
        .stderr_contains("failed (1):")
        .stderr_contains("  bad: `touch bad.started; exit 7` exited with code 7")
        .stderr_contains("skipped (2):")
        .stderr_contains("  grandchild: dependency bad failed")
        .stderr_lacks("use -k")
        .stderr_eq(str![[r#"
...
FAIL  bad: `touch bad.started; exit 7` exited with code 7
  | $ echo about to fail
  | about to fail
  | $ touch bad.started; exit 7
  (full log: [ROOT]/logs/bad.log)
...
failed (1):
  bad: `touch bad.started; exit 7` exited with code 7
skipped (2):
  child: dependency bad failed
  grandchild: dependency bad failed
2 ran, 0 up to date, 1 failed, 2 skipped

"#]])
        .run();
    assert!(out.project.exists("late.done"));
    assert!(!out.project.exists("grandchild.done"));
    // The failure is not recorded: fixing it runs bad and its dependents, not the rest.
    out.project.write(
        "tasks.toml",
        &FAILING.replace(
            r#"run = ["echo about to fail", "touch bad.started; exit 7"]"#,
            r#"run = "touch bad.started""#,
        ),
    );
    out.test()
        .args(&["-v", "grandchild", "late"])
        .stderr_contains("start bad: never run")
        .ran(&["bad", "child", "grandchild"])
        .fresh(&["slow", "late"])
        .run();
}

#[test]
fn a_failed_task_is_never_recorded_as_done() {
    let t = Test::new().tasks_toml(
        "[tasks.t]\nrun = ['echo x >> tries.txt', 'test -f ok']\ninputs = ['in.txt']\n",
    );
    let p = t.project().clone();
    p.write("in.txt", "1");
    t.arg("t").status(1).task("t", "failed").run();
    p.test()
        .args(&["-v", "t"])
        .status(1)
        .stderr_contains("start t: never run")
        .run();
    p.write("ok", "");
    p.test().arg("t").ran(&["t"]).run();
    // Succeeded, then fails after a change: the old success does not count any more.
    p.write("in.txt", "2");
    p.remove("ok");
    p.test().arg("t").status(1).run();
    p.write("in.txt", "1");
    p.test()
        .args(&["-v", "t"])
        .status(1)
        .stderr_contains("start t: never run")
        .run();
    assert_eq!(p.read("tries.txt").lines().count(), 5);
}

#[test]
fn failure_prints_the_log_tail_and_logs_keep_everything() {
    let out = Test::new()
        .tasks_toml(
            r#"
[tasks.chatty]
run = 'for i in $(seq 1 40); do echo "line $i"; done; echo "to stderr" >&2; exit 1'
[tasks.fine]
run = ['echo "fine out"', 'echo "fine err" >&2']
"#,
        )
        .args(&["-k", "chatty", "fine"])
        .status(1)
        .stderr_contains("  | line 40")
        .stderr_contains("  | to stderr")
        .stderr_lacks("line 5\n")
        .stderr_contains("(full log: ")
        .stderr_contains("logs/chatty.log")
        .run();
    let log = out.project.read("logs/chatty.log");
    assert!(log.contains("line 1\n") && log.contains("line 40\n") && log.contains("to stderr"));
    let fine = out.project.read("logs/fine.log");
    assert!(fine.contains("$ echo \"fine out\""), "{fine}");
    assert!(
        fine.contains("fine out\n") && fine.contains("fine err\n"),
        "{fine}"
    );
    // The task's own output does not clutter dorun's stdout.
    assert!(!out.stdout.contains("fine out"));
}

#[test]
fn logs_are_replaced_on_each_run() {
    let t = Test::new().tasks_toml("[tasks.t]\nrun = 'echo run-$V'\nalways = true\n");
    let p = t.project().clone();
    t.env("V", "one").arg("t").run();
    p.test().env("V", "two").arg("t").run();
    let log = p.read("logs/t.log");
    assert!(log.contains("run-two") && !log.contains("run-one"), "{log}");
}

#[test]
fn run_json_records_every_selected_task() {
    let out = Test::new()
        .tasks_toml(
            r#"
[tasks.fresh]
run = "touch fresh.txt"
outputs = ["fresh.txt"]
[tasks.work]
run = "sleep 0.2"
always = true
deps = ["fresh"]
[tasks.bad]
run = "exit 3"
[tasks.after]
run = "true"
deps = ["bad"]
"#,
        )
        .arg("fresh")
        .run();
    out.test().args(&["-k", "work", "after"]).status(1).run();
    let json = out.project.run_json();
    assert_eq!(json["exit_code"], 1);
    let tasks = json["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["after", "bad", "fresh", "work"], "{json:#}");
    for t in tasks {
        for key in ["name", "status", "reason", "seconds", "exit_code"] {
            assert!(t.get(key).is_some(), "{key} missing in {t}");
        }
    }
    let entry = |n: &str| tasks.iter().find(|t| t["name"] == n).unwrap();
    assert_eq!(entry("fresh")["status"], "up-to-date");
    assert_eq!(entry("work")["status"], "ran");
    assert_eq!(entry("work")["reason"], "always runs, never run");
    assert_eq!(entry("work")["exit_code"], 0);
    assert!(entry("work")["seconds"].as_f64().unwrap() >= 0.15);
    assert_eq!(entry("bad")["status"], "failed");
    assert_eq!(entry("bad")["exit_code"], 3);
    assert!(entry("bad")["reason"].as_str().unwrap().contains("code 3"));
    assert_eq!(entry("after")["status"], "skipped");
    assert_eq!(entry("after")["reason"], "dependency bad failed");
    assert!(entry("after")["exit_code"].is_null());
}

#[test]
fn timeout_fails_the_task_and_kills_its_process_group() {
    let t = Test::new().tasks_toml(
        "[tasks.t]\nrun = 'sleep 100 & echo $! > child.pid; wait'\ntimeout = \"500ms\"\n",
    );
    let p = t.project().clone();
    let out = t
        .arg("t")
        .status(1)
        .task("t", "failed")
        .stderr_contains("timed out after 500ms")
        .run();
    assert!(out.elapsed < Duration::from_secs(20), "{:?}", out.elapsed);
    let pid = read_pid(&p, "child.pid");
    wait_for("the timed-out task's child to be killed", 5, || !alive(pid));
    // Not recorded: it runs again.
    p.test()
        .args(&["info", "t"])
        .stdout_contains("status:  never run")
        .run();
}

/// Regression: the limit covers the whole task, and the message names the configured limit (it
/// used to print what was left of it for the command that ran out, e.g. "499ms 981us 53ns").
#[test]
fn timeout_covers_all_commands_of_the_task() {
    Test::new()
        .tasks_toml(
            "[tasks.t]\nrun = ['sleep 0.4', 'touch second.started; sleep 0.4', 'touch never']\ntimeout = \"600ms\"\n",
        )
        .arg("t")
        .status(1)
        .stderr_contains("FAIL  t: timed out after 600ms\n")
        .run();
}

#[test]
fn timeout_not_reached_is_a_success() {
    Test::new()
        .tasks_toml("[tasks.t]\nrun = 'sleep 0.1'\ntimeout = \"10s\"\n")
        .arg("t")
        .ran(&["t"])
        .run();
}

#[test]
fn a_task_killed_by_a_signal_fails_and_runs_again() {
    let t = Test::new().tasks_toml(
        "[tasks.t]\nrun = ['echo $$ > me.pid; while [ ! -f go ]; do sleep 0.01; done', 'touch out']\noutputs = ['out']\n",
    );
    let p = t.project().clone();
    let running = t
        .arg("t")
        .status(1)
        .task("t", "failed")
        .stderr_contains("killed by signal 9")
        .spawn();
    let pid = read_pid(&p, "me.pid");
    // SAFETY: kill(2) on the task's shell, which we started through dorun.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    running.wait();
    p.write("go", "");
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: never run")
        .ran(&["t"])
        .run();
}
