//! Bad tasks.toml files and bad command lines: each error exits with the documented code (SPEC
//! §2: 2 for usage and tasks.toml, 3 for the environment) and names file, line and column with
//! the offending text, or the loop, or the nearest name.
use crate::harness::Test;
use snapbox::str;

#[test]
fn toml_syntax_error_names_file_line_column_and_text() {
    let out = Test::new()
        .tasks_toml(
            "[tasks.a]\nrun = \"true\"\n\n[tasks.b]\nrun = \"echo unterminated\ndeps = []\n",
        )
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid tasks.toml: invalid basic string
  --> [ROOT]/tasks.toml:5:25
    | run = "echo unterminated

"#]])
        .run();
    let root = out.project.path().display().to_string();
    assert!(out.stderr.contains(&root), "the file path is not named");
}

#[test]
fn wrong_type_names_its_line() {
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\nalways = \"yes\"\n")
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid tasks.toml: invalid type: string "yes", expected a boolean
  --> [ROOT]/tasks.toml:3:10
    | always = "yes"

"#]])
        .run();
}

#[test]
fn wrong_type_in_a_list_names_its_line() {
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\n\ninputs = [1, 2]\n")
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid tasks.toml: invalid type: integer `1`, expected a string
  --> [ROOT]/tasks.toml:4:11
    | inputs = [1, 2]

"#]])
        .run();
}

#[test]
fn run_of_the_wrong_type_is_rejected() {
    Test::new()
        .tasks_toml("[tasks.a]\nrun = 42\n")
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid tasks.toml: invalid type: integer `42`, expected a string or a list of strings
  --> [ROOT]/tasks.toml:2:7
    | run = 42

"#]])
        .run();
}

#[test]
fn cycle_prints_the_loop() {
    Test::new()
        .tasks_toml(
            "[tasks.a]\nrun = \"true\"\ndeps = [\"b\"]\n[tasks.b]\nrun = \"true\"\ndeps = [\"a\"]\n",
        )
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: dependency cycle: a -> b -> a (remove one of these deps to break the loop)
  --> [ROOT]/tasks.toml:3:9
    | deps = ["b"]

"#]])
        .run();
}

#[test]
fn longer_cycle_and_self_loop() {
    Test::new()
        .tasks_toml(
            "[tasks.a]\nrun = \"true\"\ndeps = [\"b\"]\n[tasks.b]\nrun = \"true\"\ndeps = [\"c\"]\n[tasks.c]\nrun = \"true\"\ndeps = [\"a\"]\n",
        )
        .arg("list")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: dependency cycle: a -> b -> c -> a (remove one of these deps to break the loop)
  --> [ROOT]/tasks.toml:3:9
    | deps = ["b"]

"#]])
        .run();
    Test::new()
        .tasks_toml("[tasks.me]\nrun = \"true\"\ndeps = [\"me\"]\n")
        .arg("me")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: dependency cycle: me -> me (remove one of these deps to break the loop)
  --> [ROOT]/tasks.toml:3:9
    | deps = ["me"]

"#]])
        .run();
}

#[test]
fn unknown_dependency_suggests_the_nearest_name_and_its_line() {
    Test::new()
        .tasks_toml(
            "[tasks.generate]\nrun = \"true\"\n[tasks.use]\nrun = \"true\"\ndeps = [\"generat\"]\n",
        )
        .arg("use")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: unknown task `generat` (did you mean `generate`?)
  --> [ROOT]/tasks.toml:5:9
    | deps = ["generat"]

"#]])
        .run();
}

#[test]
fn unknown_task_on_the_command_line_suggests() {
    Test::new()
        .tasks_toml("[tasks.build]\nrun = \"true\"\n[tasks.test]\nrun = \"true\"\n")
        .arg("biuld")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: unknown task `biuld` (did you mean `build`?)

"#]])
        .run();
}

#[test]
fn unknown_task_in_info_plan_and_glob_matching_nothing() {
    let t = Test::new().tasks_toml("[tasks.build]\nrun = \"true\"\n");
    let p = t.project().clone();
    t.args(&["info", "buidl"])
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: unknown task `buidl` (did you mean `build`?)

"#]])
        .run();
    p.test()
        .args(&["plan", "nothing*"])
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: unknown task `nothing*`

"#]])
        .run();
}

#[test]
fn bad_glob_is_rejected_with_its_line() {
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\ninputs = [\"src/[a.txt\"]\n")
        .arg("a")
        .status(2)
        .stderr_contains("bad glob `src/[a.txt`")
        .stderr_contains("tasks.toml:3:")
        .stderr_eq(str![[r#"
dorun: error: bad glob `src/[a.txt`: error parsing glob 'src/[a.txt': unclosed character class; missing ']'
  --> [ROOT]/tasks.toml:3:11
    | inputs = ["src/[a.txt"]

"#]])
        .run();
}

#[test]
fn paths_outside_the_project_are_rejected() {
    for (key, path) in [
        ("inputs", "../secret.txt"),
        ("inputs", "/etc/passwd"),
        ("outputs", "../../x"),
        ("outputs", "/tmp/x"),
        ("outputs", "ok/../../x"),
    ] {
        Test::new()
            .tasks_toml(&format!(
                "[tasks.a]\nrun = \"true\"\n{key} = [\"{path}\"]\n"
            ))
            .arg("a")
            .status(2)
            .stderr_contains(&format!("`{path}` must be a path inside the project"))
            .stderr_contains("tasks.toml:3:")
            .run();
    }
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\ndir = \"../up\"\n")
        .arg("a")
        .status(2)
        .stderr_contains("must be a path inside the project")
        .run();
}

#[test]
fn bad_timeout_and_bad_settings_are_config_errors() {
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\ntimeout = \"soon\"\n")
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid duration `soon`: expected number at 0 (examples: 90s, 10m, 1h 30m, or 600 for seconds)
  --> [ROOT]/tasks.toml:3:11
    | timeout = "soon"

"#]])
        .run();
    Test::new()
        .tasks_toml("[settings]\njobs = 0\n[tasks.a]\nrun = \"true\"\n")
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: settings.jobs must be at least 1
  --> [ROOT]/tasks.toml:2:8
    | jobs = 0

"#]])
        .run();
    Test::new()
        .tasks_toml("[tasks.\"has space\"]\nrun = \"true\"\n")
        .arg("list")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid task name `has space`: use letters, digits, `-`, `_` and `.`
  --> [ROOT]/tasks.toml:1:8
    | [tasks."has space"]

"#]])
        .run();
}

#[test]
fn no_tasks_file_anywhere_exits_2() {
    Test::new()
        .arg("anything")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: no tasks.toml found in [ROOT] or any parent directory (run `dorun init` to create one, or pass -f PATH)

"#]])
        .run();
}

#[test]
fn missing_file_flag_exits_2() {
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\n")
        .args(&["-f", "nope.toml", "a"])
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: [ROOT]/nope.toml: no such file

"#]])
        .run();
}

#[test]
fn bad_flags_exit_2_and_help_exits_0() {
    let t = Test::new().tasks_toml("[tasks.a]\nrun = \"true\"\n");
    let p = t.project().clone();
    t.args(&["--no-such-flag"]).status(2).run();
    p.test().args(&["-j", "many", "a"]).status(2).run();
    p.test().args(&["graph", "--format", "png"]).status(2).run();
    p.test().args(&["info"]).status(2).run();
    p.test().args(&["--help"]).stdout_contains("Usage").run();
    p.test()
        .args(&["forget"])
        .status(2)
        .stderr_contains("pass --all")
        .run();
}

/// One place that pins every documented exit code: 0, 1, 2, 3 and 130 (the last two need a
/// second process or a signal: see crash.rs, which asserts them too).
#[test]
fn exit_codes_of_success_failure_and_usage() {
    let t = Test::new().tasks_toml("[tasks.ok]\nrun = \"true\"\n[tasks.bad]\nrun = \"false\"\n");
    let p = t.project().clone();
    t.arg("ok")
        .status(0)
        .stderr_eq(str![[r#"
start ok
ok    ok ([ELAPSED])
1 ran, 0 up to date, 0 failed, 0 skipped

"#]])
        .run();
    p.test()
        .arg("bad")
        .status(1)
        .stderr_contains("FAIL  bad")
        .stderr_eq(str![[r#"
start bad
FAIL  bad: `false` exited with code 1
  | $ false
  (full log: [ROOT]/logs/bad.log)
failed (1):
  bad: `false` exited with code 1
0 ran, 0 up to date, 1 failed, 0 skipped

"#]])
        .run();
    p.test().arg("nope").status(2).run();
}

/// Regression: a cycle was reported without a location; it now names the `deps` entry that
/// starts the loop, with its line.
#[test]
fn cycle_names_the_deps_entry_that_starts_the_loop() {
    Test::new()
        .tasks_toml(
            "[tasks.a]\nrun = \"true\"\ndeps = [\"c\", \"b\"]\n[tasks.b]\nrun = \"true\"\ndeps = [\"a\"]\n[tasks.c]\nrun = \"true\"\n",
        )
        .arg("list")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: dependency cycle: a -> b -> a (remove one of these deps to break the loop)
  --> [ROOT]/tasks.toml:3:14
    | deps = ["c", "b"]

"#]])
        .run();
}

/// A loop through a builtin's subtask (`deps = ["build:base"]` while `build` depends on the
/// task) was not detected at all.
#[test]
fn cycle_through_a_subtask_is_reported() {
    Test::new()
        .file("images/base/Dockerfile", "FROM scratch\n")
        .tasks_toml(
            "[stack]\n[images.base]\n[tasks.prep]\nrun = \"true\"\ndeps = [\"build:base\"]\n[tasks.build]\nbuiltin = \"images-build\"\ndeps = [\"prep\"]\n",
        )
        .arg("graph")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: dependency cycle: build -> prep -> build (remove one of these deps to break the loop)
  --> [ROOT]/tasks.toml:8:9
    | deps = ["prep"]

"#]])
        .run();
}

/// Regression: an unknown task in `settings.default` was reported only when a bare `dorun`
/// ran, without a location; now at load time, where it is written, with the nearest name.
#[test]
fn unknown_default_task_names_its_line_and_the_nearest_name() {
    let t = Test::new().tasks_toml(
        "[settings]\ndefault = [\"build\", \"tset\"]\n[tasks.build]\nrun = \"true\"\n[tasks.test]\nrun = \"true\"\n",
    );
    let p = t.project().clone();
    t.arg("build")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: unknown task `tset` (did you mean `test`?)
  --> [ROOT]/tasks.toml:2:21
    | default = ["build", "tset"]

"#]])
        .run();
    p.write(
        "tasks.toml",
        "[settings]\ndefault = \"biuld\"\n[tasks.build]\nrun = \"true\"\n",
    );
    p.test()
        .arg("list")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: unknown task `biuld` (did you mean `build`?)
  --> [ROOT]/tasks.toml:2:11
    | default = "biuld"

"#]])
        .run();
    // A glob or a subtask is fine as long as it matches.
    p.write(
        "tasks.toml",
        "[settings]\ndefault = [\"b*\"]\n[tasks.build]\nrun = \"true\"\n",
    );
    p.test().ran(&["build"]).run();
}
