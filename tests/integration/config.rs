//! tasks.toml as users write it (SPEC §3): every task key does what it says, `[settings]` is
//! honoured, and the file is found with `-f`, by searching upward, and with `-C`.
use crate::harness::Test;

#[test]
fn run_as_string_and_as_list_in_order() {
    let out = Test::new()
        .tasks_toml(
            r#"
[tasks.one]
run = "echo one > one.txt"
[tasks.many]
run = ["echo first > many.txt", "echo second >> many.txt"]
"#,
        )
        .args(&["one", "many"])
        .ran(&["one", "many"])
        .run();
    assert_eq!(out.project.read("one.txt"), "one\n");
    assert_eq!(out.project.read("many.txt"), "first\nsecond\n");
}

#[test]
fn a_failing_command_stops_the_rest_of_the_list() {
    let out = Test::new()
        .tasks_toml(
            r#"
[tasks.t]
run = ["echo a > a.txt", "exit 3", "echo c > c.txt"]
"#,
        )
        .arg("t")
        .status(1)
        .task("t", "failed")
        .run();
    assert!(out.project.exists("a.txt"));
    assert!(
        !out.project.exists("c.txt"),
        "the command after the failure ran"
    );
    assert_eq!(out.project.run_entry("t")["exit_code"], 3);
}

#[test]
fn doc_is_shown_by_list_and_info() {
    Test::new()
        .tasks_toml("[tasks.lint]\ndoc = \"Lint every Dockerfile\"\nrun = \"true\"\n")
        .arg("list")
        .stdout_contains("lint")
        .stdout_contains("Lint every Dockerfile")
        .run()
        .test()
        .args(&["info", "lint"])
        .stdout_contains("doc:     Lint every Dockerfile")
        .run();
}

#[test]
fn env_is_passed_to_run_and_uptodate() {
    let out = Test::new()
        .tasks_toml(
            r#"
[tasks.t]
run = 'echo "$GREETING $WHO" > out.txt'
env = { GREETING = "hello", WHO = "world" }
outputs = ["out.txt"]
uptodate = ['test "$WHO" = world']
"#,
        )
        .arg("t")
        .run();
    assert_eq!(out.project.read("out.txt"), "hello world\n");
    // The uptodate check sees the env too: had it not, the task would run again.
    out.test().args(&["-v", "t"]).fresh(&["t"]).run();
}

#[test]
fn dir_is_the_working_directory_relative_to_the_root() {
    let out = Test::new()
        .tasks_toml(
            r#"
[tasks.t]
dir = "sub/deeper"
run = "pwd > here.txt"
outputs = ["sub/deeper/here.txt"]
"#,
        )
        .file("sub/deeper/keep", "")
        .arg("t")
        .run();
    let here = out.project.read("sub/deeper/here.txt");
    assert_eq!(
        here.trim(),
        out.project.join("sub/deeper").display().to_string()
    );
}

#[test]
fn inputs_glob_with_double_star_reach_every_depth() {
    let t = Test::new()
        .tasks_toml(
            r#"
[tasks.t]
run = "true"
inputs = ["src/**/*.txt"]
"#,
        )
        .file("src/top.txt", "1")
        .file("src/a/mid.txt", "2")
        .file("src/a/b/c/deep.txt", "3")
        .file("src/a/b/c/other.md", "not matched");
    let p = t.project().clone();
    t.arg("t").run();
    p.test()
        .args(&["info", "t"])
        .stdout_contains("last run: ")
        .stdout_contains("3 inputs")
        .run();
    p.write("src/a/b/c/deep.txt", "changed");
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("start t: input src/a/b/c/deep.txt changed")
        .run();
    // A file the glob does not match changes nothing.
    p.write("src/a/b/c/other.md", "changed too");
    p.test().args(&["-v", "t"]).fresh(&["t"]).run();
}

#[test]
fn a_directory_input_stands_for_every_file_under_it() {
    let t = Test::new()
        .tasks_toml("[tasks.t]\nrun = \"true\"\ninputs = [\"data\"]\n")
        .file("data/x/y.bin", "1");
    let p = t.project().clone();
    t.arg("t").run();
    p.write("data/x/y.bin", "2");
    p.test()
        .args(&["-v", "t"])
        .stderr_contains("input data/x/y.bin changed")
        .ran(&["t"])
        .run();
}

#[test]
fn a_missing_literal_input_fails_the_task() {
    Test::new()
        .tasks_toml("[tasks.t]\nrun = \"true\"\ninputs = [\"nope.txt\"]\n")
        .arg("t")
        .status(1)
        .stderr_contains("input nope.txt does not exist")
        .task("t", "failed")
        .run();
}

#[test]
fn an_output_the_commands_did_not_create_fails_the_task() {
    let out = Test::new()
        .tasks_toml("[tasks.t]\nrun = \"true\"\noutputs = [\"never.txt\"]\n")
        .arg("t")
        .status(1)
        .stderr_contains("did not create the declared output never.txt")
        .run();
    // Nothing was recorded: still never run.
    out.test()
        .args(&["info", "t"])
        .stdout_contains("status:  never run")
        .run();
}

#[test]
fn settings_default_jobs_and_directories() {
    let out = Test::new()
        .tasks_toml(
            r#"
[settings]
default = ["b"]
jobs = 1
artifacts-dir = "out/art"
logs-dir = "out/logs"
state-dir = "out/state"

[tasks.a]
run = "echo from-a"
[tasks.b]
run = "echo from-b"
deps = ["a"]
"#,
        )
        .stderr_contains("ok    a")
        .stderr_contains("ok    b")
        .run();
    let p = &out.project;
    assert!(p.exists("out/art/run.json"), "artifacts-dir not honoured");
    assert!(!p.exists("artifacts/run.json"));
    assert!(p.read("out/logs/a.log").contains("from-a"));
    assert!(p.join("out/state").is_dir(), "state-dir not honoured");
    assert!(
        !p.exists(".dorun"),
        "state written to .dorun despite state-dir"
    );
}

#[test]
fn no_task_and_no_default_is_a_usage_error() {
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\n")
        .status(2)
        .stderr_contains("settings.default is empty")
        .run();
}

#[test]
fn file_flag_names_another_tasks_file_whose_directory_is_the_root() {
    let out = Test::new()
        .file(
            "elsewhere/custom.toml",
            "[tasks.t]\nrun = \"pwd > where.txt\"\noutputs = [\"where.txt\"]\n",
        )
        .args(&["-f", "elsewhere/custom.toml", "t"])
        .stderr_contains("ok    t")
        .run();
    // Everything dorun writes for that project is under elsewhere/.
    assert!(out.project.exists("elsewhere/artifacts/run.json"));
    assert!(out.project.exists("elsewhere/.dorun"));
    assert!(!out.project.exists(".dorun"));
    assert!(out.project.exists("elsewhere/where.txt"));
    assert!(!out.project.exists("where.txt"));
    assert_eq!(
        out.project.read("elsewhere/where.txt").trim(),
        out.project.join("elsewhere").display().to_string()
    );
    out.test()
        .args(&["--file", "elsewhere/custom.toml", "info", "t"])
        .stdout_contains("status:  up-to-date")
        .run();
}

#[test]
fn tasks_toml_is_searched_upward_from_a_subdirectory() {
    let out = Test::new()
        .tasks_toml("[tasks.t]\nrun = \"pwd > where.txt\"\noutputs = [\"where.txt\"]\n")
        .file("src/deep/er/keep", "")
        .current_dir("src/deep/er")
        .arg("t")
        .ran(&["t"])
        .run();
    assert!(out.project.exists("where.txt"), "not run from the root");
    assert!(!out.project.exists("src/deep/er/where.txt"));
    assert!(
        out.project.exists(".dorun"),
        "state not in the project root"
    );
    assert!(!out.project.exists("src/deep/er/.dorun"));
}

#[test]
fn dash_c_changes_directory_first() {
    let out = Test::new()
        .file(
            "proj/tasks.toml",
            "[tasks.t]\nrun = \"echo hi > hi.txt\"\noutputs = [\"hi.txt\"]\n",
        )
        .args(&["-C", "proj", "t"])
        .run();
    assert_eq!(out.project.read("proj/hi.txt"), "hi\n");
    out.test()
        .args(&["-C", "proj", "info", "t"])
        .stdout_contains("status:  up-to-date")
        .run();
    out.test()
        .args(&["-C", "no-such-dir", "t"])
        .status(2)
        .stderr_contains("no-such-dir")
        .run();
}

#[test]
fn unknown_key_warns_with_its_line_and_the_run_goes_on() {
    let out = Test::new()
        .tasks_toml("[tasks.t]\nrun = \"echo ok > ok.txt\"\nimputs = [\"x\"]\n")
        .arg("t")
        .stderr_contains("warning: unknown key `imputs`")
        .stderr_contains("did you mean `inputs`?")
        .stderr_contains("tasks.toml:3:1")
        .ran(&["t"])
        .run();
    assert!(out.project.exists("ok.txt"));
}

#[test]
fn unknown_key_in_an_inline_task_table_warns() {
    Test::new()
        .tasks_toml("[tasks]\nt = { run = \"true\", dependencies = [\"x\"] }\n")
        .arg("t")
        .stderr_contains("unknown key `dependencies` in [tasks.t]")
        .stderr_contains("tasks.toml:2:")
        .ran(&["t"])
        .run();
}

#[test]
fn a_dir_that_does_not_exist_fails_the_task() {
    Test::new()
        .tasks_toml("[tasks.t]\nrun = \"true\"\ndir = \"missing\"\n")
        .arg("t")
        .status(1)
        .stderr_contains("FAIL  t")
        .stderr_contains("missing")
        .task("t", "failed")
        .run();
}

#[test]
fn unknown_settings_key_warns_too() {
    Test::new()
        .tasks_toml("[settings]\njbos = 2\n[tasks.t]\nrun = \"true\"\n")
        .arg("t")
        .stderr_contains("unknown key `jbos` in [settings]")
        .stderr_contains("tasks.toml:2:1")
        .run();
}
