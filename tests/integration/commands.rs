//! The inspection and housekeeping commands (issue 2 point 7): list, info, plan, forget, clean,
//! graph, init, and task selection by name and glob.
use crate::harness::{Project, Test};
use snapbox::str;

const PROJECT: &str = r#"
[tasks.gen]
doc = "Generate the data"
run = ["mkdir -p out", "cp src/a.txt out/a.txt"]
inputs = ["src/a.txt"]
outputs = ["out/a.txt"]

[tasks.test-unit]
doc = "Unit tests"
run = "touch unit.done"
deps = ["gen"]

[tasks.test-lint]
run = "touch lint.done"

[tasks.deploy]
run = "touch deploy.done"
deps = ["test-unit", "test-lint"]
"#;

fn project() -> Project {
    Test::new()
        .tasks_toml(PROJECT)
        .file("src/a.txt", "a\n")
        .project()
        .clone()
}

#[test]
fn list_shows_status_and_doc() {
    let p = project();
    p.test()
        .arg("list")
        .stdout_eq(str![[r#"
deploy     never run   
gen        never run   Generate the data
test-lint  never run   
test-unit  never run   Unit tests

"#]])
        .run();
    p.test().arg("gen").run();
    let out = p
        .test()
        .arg("list")
        .stdout_eq(str![[r#"
deploy     never run   
gen        up-to-date  Generate the data
test-lint  never run   
test-unit  never run   Unit tests

"#]])
        .run();
    let gen_line = out.stdout.lines().find(|l| l.starts_with("gen ")).unwrap();
    assert!(gen_line.contains("up-to-date"), "{gen_line}");
    p.write("src/a.txt", "changed\n");
    let out = p
        .test()
        .args(&["list", "--all"])
        .stdout_eq(str![[r#"
deploy     never run   
gen        stale       Generate the data
test-lint  never run   
test-unit  never run   Unit tests

"#]])
        .run();
    let gen_line = out.stdout.lines().find(|l| l.starts_with("gen ")).unwrap();
    assert!(gen_line.contains("stale"), "{gen_line}");
}

#[test]
fn list_json_parses() {
    let p = project();
    p.test().arg("test-lint").run();
    let json = p.test().args(&["list", "--json"]).run().json();
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), 4, "{json:#}");
    let row = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(row("gen")["doc"], "Generate the data");
    assert_eq!(row("gen")["status"], "never run");
    assert_eq!(row("test-lint")["status"], "up-to-date");
    let json = p.test().args(&["list", "--all", "--json"]).run().json();
    assert!(json.is_array());
}

#[test]
fn info_shows_status_reason_deps_and_the_last_run() {
    let p = project();
    p.test()
        .args(&["info", "test-unit"])
        .stdout_eq(str![[r#"
test-unit
  doc:     Unit tests
  status:  never run
  reason:  never run, dependency gen will run
  deps:    gen
  run:     touch unit.done

"#]])
        .run();
    p.test().arg("test-unit").run();
    p.test()
        .args(&["info", "gen", "test-unit"])
        .stdout_eq(str![[r#"
gen
  doc:     Generate the data
  status:  up-to-date
  reason:  up to date
  run:     mkdir -p out
  run:     cp src/a.txt out/a.txt
  inputs:  src/a.txt
  outputs: out/a.txt
  last run: [ELAPSED], 1 inputs, 1 outputs
test-unit
  doc:     Unit tests
  status:  up-to-date
  reason:  up to date
  deps:    gen
  run:     touch unit.done
  last run: [ELAPSED], 0 inputs, 0 outputs

"#]])
        .run();
}

#[test]
fn plan_executes_nothing() {
    let p = project();
    let out = p
        .test()
        .args(&["plan", "deploy"])
        .stdout_contains("run   gen: never run")
        .stdout_contains("run   deploy: ")
        .stdout_contains("4 of 4 tasks would run")
        .stdout_eq(str![[r#"
run   gen: never run
run   test-unit: never run, dependency gen will run
run   test-lint: never run
run   deploy: never run, dependency test-unit will run, dependency test-lint will run
4 of 4 tasks would run

"#]])
        .run();
    // Dependencies are listed before their dependents.
    let at = |s: &str| out.stdout.find(s).unwrap();
    assert!(at("run   gen") < at("run   test-unit") && at("run   test-unit") < at("run   deploy"));
    for f in [
        "out/a.txt",
        "unit.done",
        "lint.done",
        "deploy.done",
        "artifacts",
        "logs",
    ] {
        assert!(!p.exists(f), "plan created {f}");
    }
    assert!(!p.exists(".dorun/tasks/gen.rec"), "plan recorded gen");
}

#[test]
fn plan_json() {
    let p = project();
    p.test().arg("test-lint").run();
    let json = p.test().args(&["plan", "deploy", "--json"]).run().json();
    let rows = json["tasks"].as_array().expect("an array of tasks");
    let row = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(row("gen")["run"], true);
    assert_eq!(row("gen")["reasons"][0], "never run");
    assert_eq!(row("test-lint")["run"], false);
    assert_eq!(
        row("deploy")["deps"],
        serde_json::json!(["test-unit", "test-lint"])
    );
    assert!(!p.exists("deploy.done"));
}

#[test]
fn plan_without_tasks_uses_the_default() {
    let t = Test::new().tasks_toml(&format!("[settings]\ndefault = [\"test-lint\"]\n{PROJECT}"));
    t.arg("plan")
        .stdout_eq(str![[r#"
run   test-lint: never run
1 of 1 tasks would run

"#]])
        .run();
}

#[test]
fn forget_one_task_and_all() {
    let p = project();
    p.test().arg("deploy").run();
    p.test()
        .args(&["forget", "gen"])
        .stdout_contains("forgot gen")
        .run();
    p.test()
        .args(&["-v", "deploy"])
        .stderr_contains("start gen: never run")
        .ran(&["gen"])
        .fresh(&["test-unit", "test-lint", "deploy"]) // gen made the same bytes again
        .run();
    p.test()
        .args(&["forget", "gen"])
        .stdout_contains("forgot gen")
        .run();
    p.test()
        .args(&["forget", "gen"])
        .stdout_contains("nothing to forget")
        .run();
    p.test()
        .args(&["forget", "--all"])
        .stdout_contains("forgot 3 tasks")
        .run();
    p.test()
        .arg("deploy")
        .ran(&["gen", "test-unit", "test-lint", "deploy"])
        .run();
    p.test()
        .args(&["forget", "test-*"])
        .stdout_contains("forgot test-unit")
        .stdout_contains("forgot test-lint")
        .run();
}

#[test]
fn clean_deletes_declared_outputs_only() {
    let t = Test::new()
        .tasks_toml(
            r#"
[tasks.make]
run = ["mkdir -p out", "echo x > out/a.txt", "echo y > out/b.txt", "echo z > undeclared.txt"]
outputs = ["out/a.txt", "out/b.txt"]
"#,
        )
        .file("out/keep.txt", "not an output");
    let p = t.project().clone();
    t.arg("make").run();
    p.test()
        .args(&["clean", "--dry-run"])
        .stdout_contains("would remove out/a.txt")
        .stdout_contains("would remove out/b.txt")
        .run();
    assert!(
        p.exists("out/a.txt") && p.exists("out/b.txt"),
        "dry run deleted"
    );
    p.test()
        .args(&["info", "make"])
        .stdout_contains("status:  up-to-date")
        .run();
    p.test()
        .args(&["clean", "make"])
        .stdout_contains("removed out/a.txt")
        .stdout_contains("removed out/b.txt")
        .run();
    assert!(!p.exists("out/a.txt") && !p.exists("out/b.txt"));
    assert!(p.exists("out/keep.txt") && p.exists("undeclared.txt") && p.exists("tasks.toml"));
    p.test()
        .arg("clean")
        .stdout_contains("nothing to clean")
        .run();
    p.test()
        .args(&["-v", "make"])
        .stderr_contains("start make: never run")
        .run();
}

/// Regression: `clean TASK` also deleted the outputs of TASK's dependencies; like `doit clean
/// TASK` and `dorun forget TASK`, it now touches the named tasks only.
#[test]
fn clean_of_a_named_task_leaves_its_dependencies_alone() {
    let t = Test::new().tasks_toml(
        r#"
[tasks.gen]
run = "echo data > data.txt"
outputs = ["data.txt"]
[tasks.report]
run = "wc -c < data.txt > report.txt"
outputs = ["report.txt"]
deps = ["gen"]
"#,
    );
    let p = t.project().clone();
    t.arg("report").run();
    p.test()
        .args(&["clean", "--dry-run", "report"])
        .stdout_contains("would remove report.txt")
        .stdout_lacks("data.txt")
        .run();
    p.test()
        .args(&["clean", "report"])
        .stdout_contains("removed report.txt")
        .stdout_lacks("data.txt")
        .run();
    assert!(p.exists("data.txt") && !p.exists("report.txt"));
    p.test()
        .arg("report")
        .fresh(&["gen"])
        .ran(&["report"])
        .run();
    // Without a name, everything declared goes.
    p.test()
        .arg("clean")
        .stdout_contains("removed data.txt")
        .stdout_contains("removed report.txt")
        .run();
}

#[test]
fn clean_never_deletes_outside_the_project_through_a_symlink() {
    let outside = Project::new();
    outside.write("precious.txt", "keep me");
    outside.write("dir/inner.txt", "keep me too");
    let t = Test::new().tasks_toml(
        r#"
[tasks.links]
run = "true"
outputs = ["link.txt", "linkdir/inner.txt"]
"#,
    );
    let p = t.project().clone();
    std::os::unix::fs::symlink(outside.join("precious.txt"), p.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(outside.join("dir"), p.join("linkdir")).unwrap();
    t.arg("links").run();
    // Through a symlinked directory: refused.
    p.test()
        .args(&["clean", "--dry-run"])
        .status(2)
        .stderr_contains("outside the project")
        .run();
    p.test()
        .arg("clean")
        .status(2)
        .stderr_contains("refusing to delete")
        .run();
    assert_eq!(outside.read("dir/inner.txt"), "keep me too");
    assert_eq!(outside.read("precious.txt"), "keep me");
    // A declared directory that is a symlink to elsewhere: refused too.
    p.write(
        "tasks.toml",
        "[tasks.links]\nrun = \"true\"\noutputs = [\"linkdir\"]\n",
    );
    p.test()
        .arg("clean")
        .status(2)
        .stderr_contains("outside the project")
        .run();
    assert_eq!(outside.read("dir/inner.txt"), "keep me too");
    // A symlink that is itself the output: at most the link goes, never its target.
    p.write(
        "tasks.toml",
        "[tasks.links]\nrun = \"true\"\noutputs = [\"link.txt\"]\n",
    );
    p.test().arg("clean").run();
    assert_eq!(outside.read("precious.txt"), "keep me");
}

#[test]
fn graph_dot_and_mermaid() {
    let p = project();
    let out = p
        .test()
        .args(&["graph", "--format", "dot"])
        .stdout_contains("digraph")
        .stdout_contains("\"gen\" -> \"test-unit\"")
        .stdout_contains("\"test-unit\" -> \"deploy\"")
        .stdout_contains("\"test-lint\" -> \"deploy\"")
        .stdout_eq(str![[r#"
digraph dorun {
  rankdir=LR;
  "gen" [shape=box];
  "test-unit" [shape=box];
  "test-lint" [shape=box];
  "deploy" [shape=box];
  "gen" -> "test-unit";
  "test-unit" -> "deploy";
  "test-lint" -> "deploy";
}

"#]])
        .run();
    assert!(out.stdout.trim_end().ends_with('}'));
    let out = p
        .test()
        .args(&["graph", "--format", "mermaid", "test-unit"])
        .stdout_contains("graph TD")
        .stdout_contains("[\"gen\"]")
        .stdout_contains("[\"test-unit\"]")
        .stdout_lacks("deploy")
        .stdout_eq(str![[r#"
graph TD
  n1["gen"]
  n3["test-unit"]
  n1 --> n3

"#]])
        .run();
    assert!(out.stdout.contains("-->"), "{}", out.stdout);
    p.test().arg("graph").stdout_contains("digraph").run();
}

/// A reader that stops reading (`dorun graph | head`) ends the printing quietly: the command
/// exits as if it had printed everything, where `println!` panicked with exit 101.
#[test]
fn a_reader_that_closes_stdout_early_is_not_a_crash() {
    let p = project();
    for args in [
        &["graph"][..],
        &["list", "--all"],
        &["list", "--json"],
        &["plan"],
        &["info", "gen"],
    ] {
        let mut cmd = std::process::Command::new(crate::harness::DORUN);
        crate::harness::scrub(&mut cmd, p.home());
        let mut child = cmd
            .args(args)
            .current_dir(p.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The pipe's only read end closes before dorun writes: its first write fails (EPIPE).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "dorun {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "dorun {args:?}: {stderr}");
    }
}

#[test]
fn init_writes_a_working_starter_and_refuses_to_overwrite() {
    let t = Test::new();
    let p = t.project().clone();
    t.arg("init").stdout_contains("wrote").run();
    let text = p.read("tasks.toml");
    assert!(text.starts_with('#'), "not commented:\n{text}");
    // The starter runs as is, without warnings.
    p.test()
        .stderr_lacks("warning")
        .stderr_contains("1 ran")
        .run();
    p.write("tasks.toml", "# mine\n");
    p.test()
        .arg("init")
        .status(2)
        .stderr_contains("already exists")
        .run();
    assert_eq!(p.read("tasks.toml"), "# mine\n");
}

#[test]
fn tasks_are_selected_by_glob() {
    let p = project();
    p.test()
        .arg("test-*")
        .ran(&["gen", "test-unit", "test-lint"])
        .run();
    assert!(!p.exists("deploy.done"), "the glob selected deploy");
    let json = p.run_json();
    assert_eq!(json["tasks"].as_array().unwrap().len(), 3, "{json:#}");
    p.test()
        .args(&["t*"])
        .fresh(&["test-unit", "test-lint"])
        .run();
    p.test()
        .args(&["plan", "*"])
        .stdout_eq(str![[r#"
skip  gen: up to date
skip  test-unit: up to date
skip  test-lint: up to date
run   deploy: never run
1 of 4 tasks would run

"#]])
        .run();
}

#[test]
fn run_subcommand_is_the_same_as_bare_tasks() {
    let p = project();
    p.test()
        .args(&["run", "-j", "1", "test-lint"])
        .ran(&["test-lint"])
        .run();
    assert!(p.exists("lint.done"));
}

/// Regression: `state-dir = "."` plus `forget --all` deleted the user's `tasks/` directory
/// content, and `forget` deleted any file in the state directory. Now such a state-dir is
/// refused, and forget deletes only records dorun wrote (recognised by their header).
#[test]
fn forget_deletes_only_the_records_dorun_wrote() {
    let t = Test::new()
        .tasks_toml("[settings]\nstate-dir = \".\"\n[tasks.a]\nrun = \"true\"\n")
        .file("tasks/mine.txt", "the user's file");
    let p = t.project().clone();
    t.args(&["forget", "--all"])
        .status(2)
        .stderr_contains("state-dir `.` is the project root itself")
        .run();
    assert_eq!(p.read("tasks/mine.txt"), "the user's file");

    // A state directory shared with foreign files (a mistake, but not one to punish).
    p.write(
        "tasks.toml",
        "[settings]\nstate-dir = \"shared\"\n[tasks.a]\nrun = \"true\"\n[tasks.b]\nrun = \"true\"\n",
    );
    p.write("shared/tasks/notes.txt", "keep");
    p.write("shared/tasks/b.rec", "not a record");
    p.write("shared/stat-cache", "not a cache either");
    p.test().arg("a").ran(&["a"]).run();
    p.test()
        .args(&["forget", "b"])
        .stdout_contains("nothing to forget")
        .run();
    assert_eq!(p.read("shared/tasks/b.rec"), "not a record");
    p.test()
        .args(&["forget", "--all"])
        .stdout_contains("forgot 1 tasks")
        .run();
    assert_eq!(p.read("shared/tasks/notes.txt"), "keep");
    assert_eq!(p.read("shared/tasks/b.rec"), "not a record");
    assert_eq!(p.read("shared/stat-cache"), "not a cache either");
    assert!(
        !p.exists("shared/tasks/a.rec"),
        "the record of a is still there"
    );
    p.test().arg("a").ran(&["a"]).run();
}

/// Regression: `clean` stopped at the first output it could not delete, leaving the rest; it
/// now goes on, reports every problem, and still fails.
#[test]
fn clean_goes_on_after_a_refused_output_and_reports_it() {
    let outside = Project::new();
    outside.write("dir/inner.txt", "keep me");
    let t = Test::new().tasks_toml(
        r#"
[tasks.a]
run = "echo a > z.txt"
outputs = ["linkdir/inner.txt", "z.txt"]
[tasks.b]
run = "echo b > b.txt"
outputs = ["b.txt"]
"#,
    );
    let p = t.project().clone();
    std::os::unix::fs::symlink(outside.join("dir"), p.join("linkdir")).unwrap();
    t.args(&["a", "b"]).run();
    p.test()
        .arg("clean")
        .status(2)
        .stderr_contains("refusing to delete")
        .stderr_contains("linkdir/inner.txt")
        .stdout_contains("removed z.txt")
        .stdout_contains("removed b.txt")
        .stderr_contains("1 output(s) outside the project were refused")
        .run();
    assert!(!p.exists("z.txt") && !p.exists("b.txt"));
    assert_eq!(outside.read("dir/inner.txt"), "keep me");
}
