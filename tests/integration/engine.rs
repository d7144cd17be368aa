//! The up-to-date decision and its reasons in words (issue 2 points 3 and 4), as `-v`, `info` and
//! `plan` report them; fingerprints hold content, not mtimes or absolute paths.
use crate::harness::{Project, Test};
use crate::sys::copy_tree;

/// gen: src/*.txt → out/all.txt; use: out/all.txt → out/count.txt.
const CHAIN: &str = r#"
[tasks.gen]
doc = "Concatenate the sources"
run = ["mkdir -p out", "cat src/*.txt > out/all.txt"]
inputs = ["src/*.txt"]
outputs = ["out/all.txt"]

[tasks.use]
run = "wc -l < out/all.txt > out/count.txt"
inputs = ["out/all.txt"]
outputs = ["out/count.txt"]
deps = ["gen"]
"#;

fn chain() -> Project {
    let t = Test::new()
        .tasks_toml(CHAIN)
        .file("src/a.txt", "a\n")
        .file("src/b.txt", "b\n");
    let p = t.project().clone();
    t.args(&["-v", "use"])
        .stderr_contains("start gen: never run")
        .stderr_contains("start use: never run")
        .ran(&["gen", "use"])
        .run();
    p
}

#[test]
fn first_run_runs_everything_and_second_run_nothing() {
    let p = chain();
    assert_eq!(p.read("out/all.txt"), "a\nb\n");
    assert_eq!(p.read("out/count.txt").trim(), "2");
    p.test()
        .args(&["-v", "use"])
        .stderr_lacks("start")
        .stderr_contains("fresh gen")
        .stderr_contains("0 ran, 2 up to date, 0 failed, 0 skipped")
        .fresh(&["gen", "use"])
        .run();
    p.test()
        .args(&["plan", "use"])
        .stdout_contains("skip  gen: up to date")
        .stdout_contains("0 of 2 tasks would run")
        .run();
}

#[test]
fn input_changed_and_dependency_ran() {
    let p = chain();
    p.write("src/a.txt", "A\n");
    p.test()
        .args(&["info", "gen"])
        .stdout_contains("status:  stale")
        .stdout_contains("reason:  input src/a.txt changed")
        .run();
    p.test()
        .args(&["plan", "use"])
        .stdout_contains("run   gen: input src/a.txt changed")
        .stdout_contains("run   use: dependency gen will run")
        .stdout_contains("2 of 2 tasks would run")
        .run();
    p.test()
        .args(&["-v", "use"])
        .stderr_contains("start gen: input src/a.txt changed")
        .stderr_contains("start use: input out/all.txt changed, dependency gen ran")
        .ran(&["gen", "use"])
        .run();
    assert_eq!(p.read("out/all.txt"), "A\nb\n");
    assert!(p.project_reason("use").contains("dependency gen ran"));
}

#[test]
fn dependency_ran_is_the_reason_when_nothing_else_changed() {
    let t = Test::new()
        .tasks_toml(
            "[tasks.a]\nrun = 'cp in.txt a.txt'\ninputs = ['in.txt']\noutputs = ['a.txt']\n\
             [tasks.b]\nrun = 'true'\ndeps = ['a']\n",
        )
        .file("in.txt", "1");
    let p = t.project().clone();
    t.arg("b").run();
    p.write("in.txt", "2");
    p.test()
        .args(&["info", "b"])
        .stdout_contains("status:  stale")
        .stdout_contains("reason:  dependency a will run\n")
        .run();
    p.test()
        .args(&["-v", "b"])
        .stderr_contains("start b: dependency a ran\n")
        .ran(&["a", "b"])
        .run();
    assert_eq!(p.project_reason("b"), "dependency a ran");
}

#[test]
fn input_added_and_removed() {
    let p = chain();
    p.write("src/c.txt", "c\n");
    p.test()
        .args(&["-v", "gen"])
        .stderr_contains("start gen: input src/c.txt added")
        .ran(&["gen"])
        .run();
    p.remove("src/b.txt");
    p.test()
        .args(&["-v", "gen"])
        .stderr_contains("start gen: input src/b.txt removed")
        .ran(&["gen"])
        .run();
    assert_eq!(p.read("out/all.txt"), "a\nc\n");
}

#[test]
fn command_changed() {
    let p = chain();
    p.write(
        "tasks.toml",
        &CHAIN.replace(
            "cat src/*.txt > out/all.txt",
            "cat src/*.txt | sort > out/all.txt",
        ),
    );
    p.test()
        .args(&["info", "gen"])
        .stdout_contains("reason:  command changed")
        .run();
    p.test()
        .args(&["-v", "gen"])
        .stderr_contains("start gen: command changed")
        .run();
}

#[test]
fn env_and_dir_changes_make_the_task_stale() {
    let toml = |v: &str, dir: &str| {
        format!("[tasks.t]\nrun = 'echo $V > out.txt'\nenv = {{ V = \"{v}\" }}\ndir = \"{dir}\"\n")
    };
    let t = Test::new().tasks_toml(&toml("1", ".")).file("d/keep", "");
    let p = t.project().clone();
    t.arg("t").run();
    p.write("tasks.toml", &toml("2", "."));
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: env V changed")
        .run();
    p.write("tasks.toml", &toml("2", "d"));
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: dir changed")
        .run();
    assert_eq!(p.read("d/out.txt"), "2\n");
}

#[test]
fn outputs_setting_change_makes_the_task_stale() {
    let t = Test::new().tasks_toml("[tasks.t]\nrun = 'touch a b'\noutputs = [\"a\"]\n");
    let p = t.project().clone();
    t.arg("t").run();
    p.write(
        "tasks.toml",
        "[tasks.t]\nrun = 'touch a b'\noutputs = [\"a\", \"b\"]\n",
    );
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: outputs changed")
        .run();
}

#[test]
fn output_missing() {
    let p = chain();
    p.remove("out/all.txt");
    p.test()
        .args(&["info", "gen"])
        .stdout_contains("reason:  output out/all.txt missing")
        .run();
    p.test()
        .args(&["-v", "gen"])
        .stderr_contains("start gen: output out/all.txt missing")
        .ran(&["gen"])
        .run();
    assert_eq!(p.read("out/all.txt"), "a\nb\n");
}

#[test]
fn output_modified_by_hand() {
    let p = chain();
    p.write("out/all.txt", "edited by hand\n");
    p.test()
        .args(&["-v", "gen"])
        .stderr_contains("start gen: output out/all.txt changed since the task made it")
        .ran(&["gen"])
        .run();
    assert_eq!(p.read("out/all.txt"), "a\nb\n");
}

#[test]
fn identical_rebuild_of_a_dependency_does_not_rerun_dependents() {
    // gen is forced but produces the same bytes: `use` has nothing new to work from.
    let p = chain();
    p.test()
        .args(&["-v", "-B", "gen"])
        .stderr_contains("start gen: forced (-B)")
        .ran(&["gen"])
        .run();
    p.test().args(&["-v", "use"]).fresh(&["gen", "use"]).run();
}

#[test]
fn a_dependency_that_makes_different_bytes_reruns_its_dependents() {
    let t = Test::new().tasks_toml(
        "[tasks.stamp]\nrun = 'date +%s%N > stamp.txt'\noutputs = ['stamp.txt']\n\
         [tasks.use]\nrun = 'true'\ndeps = ['stamp']\n",
    );
    let p = t.project().clone();
    t.arg("use").run();
    p.test().args(&["-B", "stamp"]).ran(&["stamp"]).run();
    p.test()
        .args(&["info", "use"])
        .stdout_contains("reason:  dependency stamp ran")
        .run();
    p.test()
        .args(&["-v", "use"])
        .stderr_contains("start use: dependency stamp ran")
        .fresh(&["stamp"])
        .ran(&["use"])
        .run();
}

#[test]
fn always_runs_every_time() {
    let t = Test::new().tasks_toml("[tasks.t]\nrun = 'echo x >> count.txt'\nalways = true\n");
    let p = t.project().clone();
    t.arg("t").ran(&["t"]).run();
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: always runs")
        .ran(&["t"])
        .run();
    assert_eq!(p.read("count.txt"), "x\nx\n");
}

#[test]
fn failing_uptodate_command_makes_the_task_stale() {
    let t = Test::new().tasks_toml(
        "[tasks.t]\nrun = 'echo x >> count.txt'\nuptodate = ['true', 'test -f flag']\n",
    );
    let p = t.project().clone();
    t.arg("t").run();
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: uptodate check `test -f flag` failed")
        .ran(&["t"])
        .run();
    p.write("flag", "");
    p.test().args(&["-v", "t"]).fresh(&["t"]).run();
    p.test()
        .args(&["info", "t"])
        .stdout_contains("status:  up-to-date")
        .run();
    assert_eq!(p.read("count.txt"), "x\nx\n");
}

#[test]
fn force_reruns_the_selected_tasks_only() {
    let p = chain();
    p.test()
        .args(&["-v", "-B", "use"])
        .stderr_contains("start use: forced (-B)")
        .stderr_lacks("start gen")
        .fresh(&["gen"])
        .ran(&["use"])
        .run();
    p.test()
        .args(&["plan", "--force", "use"])
        .stdout_contains("run   use: forced (-B)")
        .stdout_contains("skip  gen: up to date")
        .run();
}

#[test]
fn only_skips_dependencies() {
    let t = Test::new()
        .tasks_toml(CHAIN)
        .file("src/a.txt", "a\n")
        .file("out/all.txt", "made by hand\n");
    let p = t.project().clone();
    let out = t.args(&["--only", "use"]).ran(&["use"]).run();
    assert!(!out.stderr.contains("gen"), "gen was run:\n{}", out.stderr);
    assert!(!p.run_json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "gen"));
    assert_eq!(p.read("out/count.txt").trim(), "1");
    p.test()
        .args(&["plan", "--only", "use"])
        .stdout_contains("0 of 1 tasks would run")
        .run();
}

#[test]
fn touching_an_input_keeps_the_task_up_to_date() {
    let p = chain();
    // Same content, new mtime (and ctime): the fingerprint holds content only.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let status = std::process::Command::new("touch")
        .arg("-d")
        .arg("2001-02-03 04:05:06")
        .arg(p.join("src/a.txt"))
        .status()
        .unwrap();
    assert!(status.success());
    p.write("src/b.txt", "b\n"); // rewritten with the same bytes
    p.test().args(&["-v", "use"]).fresh(&["gen", "use"]).run();
}

#[test]
fn a_copied_or_moved_project_stays_up_to_date() {
    let p = chain();
    let copy = Project::new();
    copy_tree(&p.path(), &copy.path());
    copy.test()
        .args(&["plan", "use"])
        .stdout_contains("0 of 2 tasks would run")
        .run();
    copy.test()
        .args(&["-v", "use"])
        .stderr_lacks("start")
        .fresh(&["gen", "use"])
        .run();
    // Moved: a rename keeps inodes; the new absolute path must not matter either.
    let moved_parent = Project::new();
    let moved = moved_parent.join("renamed-project");
    std::fs::rename(copy.path(), &moved).unwrap();
    Test::with_project(moved_parent.clone())
        .current_dir("renamed-project")
        .args(&["-v", "use"])
        .stderr_lacks("start")
        .stderr_contains("0 ran, 2 up to date")
        .run();
    // And a change in the copy is still seen there.
    std::fs::write(moved.join("src/a.txt"), "changed\n").unwrap();
    Test::with_project(moved_parent)
        .current_dir("renamed-project")
        .args(&["-v", "use"])
        .stderr_contains("start gen: input src/a.txt changed")
        .run();
}

#[test]
fn many_reasons_are_summarized_and_listed_by_info() {
    let t = Test::new()
        .tasks_toml("[tasks.t]\nrun = 'true'\ninputs = ['f/*']\n")
        .file("f/1", "1")
        .file("f/2", "2")
        .file("f/3", "3")
        .file("f/4", "4")
        .file("f/5", "5");
    let p = t.project().clone();
    t.arg("t").run();
    for i in 1..=5 {
        p.write(&format!("f/{i}"), "new");
    }
    p.test()
        .args(&["info", "t"])
        .stdout_contains("input f/1 changed, input f/2 changed, input f/3 changed, 2 more")
        .stdout_contains("- input f/5 changed")
        .run();
}

impl Project {
    /// The reason run.json gives for `task`.
    pub(crate) fn project_reason(&self, task: &str) -> String {
        self.run_entry(task)["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

#[test]
fn an_input_whose_name_is_not_utf8_is_hashed() {
    use std::os::unix::ffi::OsStrExt;
    let p = chain();
    let odd = p
        .join("src")
        .join(std::ffi::OsStr::from_bytes(b"b\xff.txt"));
    std::fs::write(&odd, "odd\n").unwrap();
    p.test()
        .args(&["-v", "gen"])
        .stderr_contains(r"start gen: input src/b\xff.txt added")
        .ran(&["gen"])
        .run();
    p.test().arg("gen").fresh(&["gen"]).run();
    std::fs::write(&odd, "changed\n").unwrap();
    p.test()
        .args(&["-v", "gen"])
        .stderr_contains(r"start gen: input src/b\xff.txt changed")
        .ran(&["gen"])
        .run();
    // A directory input stands for every file below it, whatever its name.
    p.write(
        "tasks.toml",
        "[tasks.all]\nrun = \"true\"\ninputs = [\"src\"]\n",
    );
    p.test().arg("all").ran(&["all"]).run();
    std::fs::write(&odd, "again\n").unwrap();
    p.test()
        .args(&["-v", "all"])
        .stderr_contains(r"start all: input src/b\xff.txt changed")
        .ran(&["all"])
        .run();
}
