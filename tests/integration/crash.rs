//! Crash safety (issue 2 point 5): `kill -9` and Ctrl-C of dorun at awkward moments never make
//! unfinished work look done and never break the next run; one dorun per project at a time; a
//! file edited while its task runs makes the task run again.
use crate::harness::{Project, Test};
use crate::sys::{alive, read_pid, wait_for};

/// `t` copies in.txt to out.txt, but first writes its shell's pid and waits for the file `go`.
const GATED: &str = r#"
[tasks.t]
run = ['echo $$ > t.pid; cat in.txt > seen.txt; while [ ! -f go ]; do sleep 0.01; done', 'cp seen.txt out.txt']
inputs = ["in.txt"]
outputs = ["out.txt"]
"#;

/// A project where `t` succeeded once with in.txt = "v1".
fn gated_done_once() -> Project {
    let t = Test::new()
        .tasks_toml(GATED)
        .file("in.txt", "v1\n")
        .file("go", "");
    let p = t.project().clone();
    t.arg("t").ran(&["t"]).run();
    assert_eq!(p.read("out.txt"), "v1\n");
    p.remove("go");
    std::fs::remove_file(p.join("t.pid")).unwrap();
    p
}

#[test]
fn sigkill_during_a_rerun_whose_old_output_exists_reruns_next_time() {
    let p = gated_done_once();
    p.write("in.txt", "v2\n");
    let running = p.test().arg("t").status(128 + libc::SIGKILL).spawn();
    let task_pid = read_pid(&p, "t.pid");
    running.signal(libc::SIGKILL);
    running.wait();
    // The old output is still there, from the run before...
    assert_eq!(p.read("out.txt"), "v1\n");
    // ...the task's shell died with dorun rather than finish unrecorded...
    wait_for("the task to die with dorun", 5, || !alive(task_pid));
    // ...and it must not pass for done.
    p.test()
        .args(&["info", "t"])
        .stdout_lacks("status:  up-to-date")
        .run();
    p.test()
        .args(&["plan", "t"])
        .stdout_contains("run   t:")
        .run();
    // Not even when the input goes back to what the old output was made from: the killed run
    // may have done part of its work (side effects beyond the declared outputs).
    p.write("in.txt", "v1\n");
    p.test()
        .args(&["plan", "t"])
        .stdout_contains("run   t:")
        .run();
    p.write("in.txt", "v2\n");
    p.write("go", "");
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t")
        .ran(&["t"])
        .run();
    assert_eq!(p.read("out.txt"), "v2\n");
    p.test().arg("t").fresh(&["t"]).run();
}

#[test]
fn sigkill_during_the_first_run_keeps_finished_dependencies_only() {
    let t = Test::new()
        .tasks_toml(&format!(
            "{GATED}deps = [\"gen\"]\n[tasks.gen]\nrun = 'echo made > gen.txt'\noutputs = ['gen.txt']\n"
        ))
        .file("in.txt", "v1\n");
    let p = t.project().clone();
    let running = t.arg("t").status(128 + libc::SIGKILL).spawn();
    read_pid(&p, "t.pid");
    running.signal(libc::SIGKILL);
    running.wait();
    let list = p.test().args(&["list", "--json"]).run().json();
    let status = |n: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("gen"), "up-to-date", "{list:#}");
    assert_eq!(status("t"), "never run", "{list:#}");
    p.write("go", "");
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: never run")
        .fresh(&["gen"])
        .ran(&["t"])
        .run();
}

#[test]
fn ctrl_c_kills_the_children_exits_130_and_records_nothing_false() {
    let p = gated_done_once();
    p.write(
        "tasks.toml",
        &GATED.replace(
            "echo $$ > t.pid;",
            "[ -f go ] || { sleep 100 & echo $! > child.pid; }; echo $$ > t.pid;",
        ),
    );
    let running = p
        .test()
        .arg("t")
        .status(130)
        .stderr_contains("interrupted")
        .spawn();
    let task_pid = read_pid(&p, "t.pid");
    let child_pid = read_pid(&p, "child.pid");
    running.signal(libc::SIGINT);
    running.wait();
    assert!(!alive(task_pid), "the task's shell outlived dorun");
    wait_for("the task's background child to be killed", 5, || {
        !alive(child_pid)
    });
    assert_ne!(p.run_entry("t")["status"], "ran");
    assert_eq!(p.run_json()["exit_code"], 130);
    p.test()
        .args(&["info", "t"])
        .stdout_lacks("status:  up-to-date")
        .run();
    // The old tasks.toml and input would match the old record: it must be gone all the same.
    p.write("tasks.toml", GATED);
    p.test()
        .args(&["info", "t"])
        .stdout_lacks("status:  up-to-date")
        .run();
    p.write("go", "");
    p.test().arg("t").ran(&["t"]).run();
}

/// `kill` (SIGTERM) and a closed terminal (SIGHUP) stop a run the way Ctrl-C does.
#[test]
fn sigterm_and_sighup_behave_like_ctrl_c() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let p = gated_done_once();
        p.write("in.txt", "v2\n");
        p.write(
            "tasks.toml",
            &GATED.replace(
                "echo $$ > t.pid;",
                "sleep 100 & echo $! > child.pid; echo $$ > t.pid;",
            ),
        );
        let running = p
            .test()
            .arg("t")
            .status(130)
            .stderr_contains("interrupted")
            .spawn();
        let task_pid = read_pid(&p, "t.pid");
        let child_pid = read_pid(&p, "child.pid");
        running.signal(signal);
        running.wait();
        wait_for("the task and its child to be killed", 5, || {
            !alive(task_pid) && !alive(child_pid)
        });
        assert_eq!(p.run_json()["exit_code"], 130, "signal {signal}");
        assert_ne!(p.run_entry("t")["status"], "ran", "signal {signal}");
        p.test()
            .args(&["info", "t"])
            .stdout_lacks("status:  up-to-date")
            .run();
    }
}

#[test]
fn an_interrupt_escalates_to_sigkill_for_a_task_ignoring_sigterm() {
    let t = Test::new().tasks_toml(
        "[tasks.t]\nrun = \"trap '' TERM; sleep 100 & echo $! > child.pid; echo $$ > t.pid; wait; wait\"\n",
    );
    let p = t.project().clone();
    let running = t.arg("t").status(130).spawn();
    let task_pid = read_pid(&p, "t.pid");
    let child_pid = read_pid(&p, "child.pid");
    running.signal(libc::SIGTERM);
    let out = running.wait();
    assert!(out.elapsed.as_secs() < 15, "{:?}", out.elapsed);
    wait_for("the stubborn task to be killed", 5, || {
        !alive(task_pid) && !alive(child_pid)
    });
}

#[test]
fn a_second_dorun_in_the_same_project_exits_3() {
    let t = Test::new().tasks_toml(&format!("{GATED}[tasks.other]\nrun = 'true'\n"));
    let p = t.project().clone();
    p.write("in.txt", "v1\n");
    let first = t.arg("t").ran(&["t"]).spawn();
    read_pid(&p, "t.pid");
    p.test()
        .arg("other")
        .status(3)
        .stderr_contains("another dorun")
        .stderr_contains(&format!("pid {}", first.pid()))
        .run();
    p.test()
        .args(&["-f", "tasks.toml", "t"])
        .status(3)
        .stderr_contains("another dorun")
        .run();
    // Commands that change the state or delete outputs wait their turn too...
    for args in [&["forget", "--all"][..], &["forget", "t"], &["clean"]] {
        p.test()
            .args(args)
            .status(3)
            .stderr_contains("another dorun")
            .run();
    }
    // ...while the read-only ones answer.
    p.test().args(&["plan", "other"]).run();
    p.test().args(&["clean", "--dry-run"]).run();
    p.write("go", "");
    first.wait();
    // The lock went with the first process.
    p.test().arg("other").ran(&["other"]).run();
}

#[test]
fn a_file_edited_while_its_task_runs_makes_it_run_again() {
    let t = Test::new().tasks_toml(GATED).file("in.txt", "before\n");
    let p = t.project().clone();
    let running = t.arg("t").ran(&["t"]).spawn();
    wait_for("the task to read its input", 10, || {
        p.exists("seen.txt") && !p.read("seen.txt").is_empty()
    });
    p.write("in.txt", "after!\n");
    p.write("go", "");
    running.wait();
    assert_eq!(p.read("out.txt"), "before\n");
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: input in.txt changed")
        .ran(&["t"])
        .run();
    assert_eq!(p.read("out.txt"), "after!\n");
    p.test().arg("t").fresh(&["t"]).run();
}

/// An input edited after the run began but before its task started: whatever dorun hashed, a
/// task it calls up to date afterwards must have made its output from the current content.
#[test]
fn an_input_edited_before_its_task_starts_is_never_missed() {
    let t = Test::new()
        .tasks_toml(
            r#"
[tasks.first]
run = 'touch first.started; while [ ! -f go ]; do sleep 0.01; done'
always = true
[tasks.second]
run = 'cp in2.txt out2.txt'
inputs = ['in2.txt']
outputs = ['out2.txt']
"#,
        )
        .file("in2.txt", "old\n");
    let p = t.project().clone();
    let running = t.args(&["-j", "1", "first", "second"]).spawn();
    wait_for("first to start", 10, || p.exists("first.started"));
    p.write("in2.txt", "new\n");
    p.write("go", "");
    running.wait();
    p.test().arg("second").run();
    assert_eq!(p.read("out2.txt"), "new\n");
    p.test().arg("second").fresh(&["second"]).run();
}

#[test]
fn damaged_state_files_do_not_break_the_next_run() {
    let t = Test::new()
        .tasks_toml("[tasks.t]\nrun = 'echo x >> runs.txt'\ninputs = ['in.txt']\n")
        .file("in.txt", "1");
    let p = t.project().clone();
    t.arg("t").run();
    let rec = p.join(".dorun/tasks/t.rec");
    assert!(rec.exists(), "record file not where expected");
    // Torn record (power cut mid-write on a filesystem without rename atomicity) and garbage cache.
    let bytes = std::fs::read(&rec).unwrap();
    std::fs::write(&rec, &bytes[..bytes.len() / 2]).unwrap();
    p.write(".dorun/stat-cache", "garbage");
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: never run")
        .ran(&["t"])
        .run();
    p.test().arg("t").fresh(&["t"]).run();
    // A stale lock file left by a killed dorun is not a held lock.
    p.write(".dorun/lock", "pid 999999\n");
    p.test().arg("t").fresh(&["t"]).run();
    assert_eq!(p.read("runs.txt"), "x\nx\n");
}

#[test]
fn temp_files_of_a_write_cut_short_are_swept_by_the_next_run_and_only_those() {
    let t = Test::new().tasks_toml("[tasks.t]\nrun = 'true'\n");
    let p = t.project().clone();
    t.arg("t").run();
    // What a dorun killed between creating and renaming a file leaves behind.
    for left in [
        ".dorun/tasks/.dorun-tmp.Ab12Cd",
        "artifacts/.dorun-tmp.Ef34Gh",
        "artifacts/build/.dorun-tmp.Ij56Kl",
    ] {
        p.write(left, "half a file");
    }
    // Files that are not dorun's stay, whatever they look like.
    p.write("artifacts/.tmpUser1", "mine");
    p.write("artifacts/notes.txt", "mine");
    p.test().arg("t").run();
    assert!(!p.exists(".dorun/tasks/.dorun-tmp.Ab12Cd"));
    assert!(!p.exists("artifacts/.dorun-tmp.Ef34Gh"));
    assert!(!p.exists("artifacts/build/.dorun-tmp.Ij56Kl"));
    assert_eq!(p.read("artifacts/.tmpUser1"), "mine");
    assert_eq!(p.read("artifacts/notes.txt"), "mine");
}
