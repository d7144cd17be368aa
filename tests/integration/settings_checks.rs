//! Settings that used to panic, fail late or say nothing (reliability issue, point 7 and the
//! directory part of point 8): each is refused when tasks.toml is loaded, with exit 2, the file,
//! line and column, the offending line, and a hint.
use crate::harness::Test;
use snapbox::str;

/// A project with one image, so `[stack]` settings are checked; `graph` needs no engine.
fn stack(stack_toml: &str, image_toml: &str) -> Test {
    Test::new()
        .file("images/base/Dockerfile", "FROM scratch\n")
        .tasks_toml(&format!(
            "[stack]\n{stack_toml}\n[images.base]\n{image_toml}\n[tasks]\nbuild = {{ builtin = \"images-build\" }}\n"
        ))
        .arg("graph")
}

#[test]
fn durations_that_panicked_or_overflowed_are_config_errors() {
    for (timeout, why) in [
        ("inf", "not a finite number"),
        ("NaN", "not a finite number"),
        ("1e300", "longer than the maximum"),
        ("1e19", "longer than the maximum"),
        ("500000000 years", "longer than the maximum"),
        ("1e19s", "unknown time unit"),
        ("0", "it must be longer than zero"),
        ("0s", "it must be longer than zero"),
        ("-5", "it must be longer than zero"),
    ] {
        Test::new()
            .tasks_toml(&format!(
                "[tasks.a]\nrun = \"true\"\ntimeout = \"{timeout}\"\n"
            ))
            .args(&["-B", "a"])
            .status(2)
            .stderr_contains(&format!("invalid duration `{timeout}`: {why}"))
            .stderr_contains("(examples: 90s")
            .stderr_contains("tasks.toml:3:11")
            .stderr_contains(&format!("| timeout = \"{timeout}\""))
            .stderr_lacks("panicked")
            .run();
    }
    // The test timeout of an image goes through the same check.
    stack("", "test = { timeout = \"inf\" }")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid duration `inf`: not a finite number of seconds (examples: 90s, 10m, 1h 30m, or 600 for seconds)
  --> [ROOT]/tasks.toml:4:20
    | test = { timeout = "inf" }

"#]])
        .run();
    // Still accepted: a bare number of seconds, humantime, fractions.
    Test::new()
        .tasks_toml("[tasks.a]\nrun = \"true\"\ntimeout = \"1.5\"\n[tasks.b]\nrun = \"true\"\ntimeout = \"1h 30m\"\n")
        .args(&["a", "b"])
        .ran(&["a", "b"])
        .run();
}

#[test]
fn a_non_utf8_tasks_toml_names_the_line_of_the_bad_byte() {
    let t = Test::new();
    let p = t.project().clone();
    std::fs::write(
        p.join("tasks.toml"),
        b"[tasks.a]\nrun = \"caf\xe9\"\n".as_slice(),
    )
    .unwrap();
    t.arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: tasks.toml is not UTF-8: byte 0xe9 at offset 20 is not valid UTF-8 (save the file as UTF-8)
  --> [ROOT]/tasks.toml:2:11
    | run = "caf

"#]])
        .run();
}

#[test]
fn a_non_utf8_checks_toml_names_the_line_of_the_bad_byte() {
    let t = stack("", "");
    let p = t.project().clone();
    std::fs::create_dir_all(p.join("images/base/test")).unwrap();
    std::fs::write(
        p.join("images/base/test/checks.toml"),
        b"command = [{ run = \"true\" }]\n# \xff\n".as_slice(),
    )
    .unwrap();
    t.status(2)
        .stderr_eq(str![[r#"
dorun: error: checks.toml is not UTF-8: byte 0xff at offset 31 is not valid UTF-8 (save the file as UTF-8)
  --> images/base/test/checks.toml:2:3
    | #

"#]])
        .run();
}

#[test]
fn a_registry_with_a_scheme_or_a_path_is_refused_with_a_hint() {
    for (registry, why) in [
        (
            "http://127.0.0.1:5000",
            "a registry has no scheme (`http://`)",
        ),
        ("https://ghcr.io", "a registry has no scheme (`https://`)"),
        ("127.0.0.1:5000/team", "a registry has no path"),
        ("127.0.0.1:http", "invalid port `http`"),
        ("myregistry", "Docker Hub namespace"),
    ] {
        stack(&format!("registry = \"{registry}\""), "")
            .status(2)
            .stderr_contains(&format!("invalid registry `{registry}`: "))
            .stderr_contains(why)
            .stderr_contains("host:port")
            .stderr_contains("tasks.toml:2:12")
            .run();
    }
    // DORUN_REGISTRY overrides the file, and is checked the same way.
    stack("registry = \"127.0.0.1:5000\"", "")
        .env("DORUN_REGISTRY", "http://127.0.0.1:5000")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: DORUN_REGISTRY=`http://127.0.0.1:5000` is invalid: a registry has no scheme (`http://`): write host or host:port, e.g. `127.0.0.1:5000` or `ghcr.io`; loopback hosts and those in DORUN_REGISTRY_INSECURE are spoken to over plain HTTP, others over HTTPS

"#]])
        .run();
    stack("registry = \"127.0.0.1:5000\"", "")
        .stdout_contains("digraph")
        .run();
}

#[test]
fn a_tag_prefix_whose_derived_tags_exceed_128_characters_is_refused_at_load_time() {
    let longest_ok = "p".repeat(112);
    let too_long = "p".repeat(113);
    stack(&format!("tag-prefix = \"{longest_ok}\""), "")
        .stdout_contains("digraph")
        .run();
    stack(&format!("tag-prefix = \"{too_long}\""), "")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: tag prefix `ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp` is too long: the tag `ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp-id-<12 hex digits>` would have 129 characters and Docker allows 128; shorten the tag prefix (at most 112 characters) or the stable tag
  --> [ROOT]/tasks.toml:2:14
    | tag-prefix = "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"

"#]])
        .run();
    // A plan's prefix derived from the stack's: reported at the plan.
    let prefix = "p".repeat(103);
    stack(
        &format!("tag-prefix = \"{prefix}\"\n[stack.plans.python311]"),
        "",
    )
    .status(2)
    .stderr_eq(str![[r#"
dorun: error: tag prefix `ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp-python311` is too long: the tag `ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp-python311-id-<12 hex digits>` would have 129 characters and Docker allows 128; shorten the tag prefix (at most 112 characters) or the stable tag
  --> [ROOT]/tasks.toml:3:14
    | [stack.plans.python311]

"#]])
    .run();
    // With plans, the stable tag `<plan prefix>-<stable-tag>` must fit too.
    stack(
        &format!(
            "stable-tag = \"{}\"\n[stack.plans.py]\ntag-prefix = \"{}\"",
            "s".repeat(60),
            "p".repeat(70)
        ),
        "",
    )
    .status(2)
    .stderr_eq(str![[r#"
dorun: error: tag prefix `pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp` is too long: the tag `pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp-ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss` would have 131 characters and Docker allows 128; shorten the tag prefix (at most 112 characters) or the stable tag
  --> [ROOT]/tasks.toml:4:14
    | tag-prefix = "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"

"#]])
    .run();
}

#[test]
fn memory_and_cpu_limits_out_of_range_are_refused() {
    for (limits, why, column) in [
        (
            "memory = \"lots\"",
            "invalid memory limit `lots`: not a size",
            19,
        ),
        (
            "memory = \"inf\"",
            "invalid memory limit `inf`: not a finite number",
            19,
        ),
        (
            "memory = \"1e300g\"",
            "invalid memory limit `1e300g`: too large",
            19,
        ),
        ("memory = \"1k\"", "below Docker's minimum of 6 MB", 19),
        ("memory = \"-1g\"", "below Docker's minimum of 6 MB", 19),
        (
            "cpus = 0.0",
            "invalid cpus `0`: must be a number from 0.01 to 1024",
            17,
        ),
        ("cpus = -1.0", "invalid cpus `-1`", 17),
        ("cpus = 4096.0", "invalid cpus `4096`", 17),
        ("cpus = inf", "invalid cpus `inf`", 17),
        ("cpus = nan", "invalid cpus `NaN`", 17),
    ] {
        stack("", &format!("test = {{ {limits} }}"))
            .status(2)
            .stderr_contains(why)
            .stderr_contains(&format!("tasks.toml:4:{column}"))
            .run();
    }
    stack("", "test = { memory = \"512m\", cpus = 1.5 }")
        .stdout_contains("digraph")
        .run();
}

#[test]
fn directories_dorun_writes_must_be_its_own_inside_the_project() {
    for key in ["state-dir", "artifacts-dir", "logs-dir", "manifests-dir"] {
        for (value, why) in [
            (".", "is the project root itself"),
            ("", "is the project root itself"),
            ("./", "is the project root itself"),
            ("..", "must be a path inside the project"),
            ("../elsewhere", "must be a path inside the project"),
            ("/tmp/dorun-state", "must be a path inside the project"),
        ] {
            Test::new()
                .tasks_toml(&format!(
                    "[settings]\n{key} = \"{value}\"\n[tasks.a]\nrun = \"true\"\n"
                ))
                .arg("a")
                .status(2)
                .stderr_contains(why)
                .stderr_contains("tasks.toml:2:")
                .run();
        }
    }
}

#[test]
fn a_directory_setting_through_a_symlink_to_outside_is_refused() {
    let outside = crate::harness::Project::new();
    let t = Test::new()
        .tasks_toml("[settings]\nstate-dir = \"link/state\"\n[tasks.a]\nrun = \"true\"\n");
    let p = t.project().clone();
    p.redact("[OUTSIDE]", &outside.path().display().to_string());
    std::os::unix::fs::symlink(outside.path(), p.join("link")).unwrap();
    t.arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: state-dir `link/state` resolves to [OUTSIDE]/state, outside the project root [ROOT]; dorun writes and deletes files there, so it must be a sub-directory of the project used by dorun alone (set [settings] state-dir, e.g. `.dorun`)
  --> [ROOT]/tasks.toml:2:13
    | state-dir = "link/state"

"#]])
        .run();
    assert!(
        !outside.exists("state"),
        "dorun wrote its state outside the project"
    );
    // The default directory can be a symlink to elsewhere too: named, with the key to set.
    let t = Test::new().tasks_toml("[tasks.a]\nrun = \"true\"\n");
    let p = t.project().clone();
    p.redact("[OUTSIDE]", &outside.path().display().to_string());
    std::os::unix::fs::symlink(outside.path(), p.join("logs")).unwrap();
    t.arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: logs-dir `logs` (the default) resolves to [OUTSIDE], outside the project root [ROOT]; dorun writes and deletes files there, so it must be a sub-directory of the project used by dorun alone (set [settings] logs-dir, e.g. `logs`)
  --> [ROOT]/tasks.toml:1:1

"#]])
        .run();
}

#[test]
fn a_directory_setting_holding_the_images_or_inside_an_image_is_refused() {
    for (setting, images_dir, why) in [
        (
            "artifacts-dir = \"images\"",
            "images",
            "holds the images directory `images`",
        ),
        (
            "state-dir = \"stack\"",
            "stack/images",
            "holds the images directory `stack/images`",
        ),
        (
            "logs-dir = \"images/base/logs\"",
            "images",
            "is inside an image's directory",
        ),
        (
            "manifests-dir = \"base\"",
            ".",
            "is inside an image's directory",
        ),
    ] {
        Test::new()
            .file(&format!("{images_dir}/base/Dockerfile"), "FROM scratch\n")
            .tasks_toml(&format!(
                "[settings]\n{setting}\n[stack]\nimages-dir = \"{images_dir}\"\n[images.base]\n"
            ))
            .arg("graph")
            .status(2)
            .stderr_contains(why)
            .stderr_contains("tasks.toml:2:")
            .run();
    }
    // Images at the project root, dorun's directories beside them: fine.
    Test::new()
        .file("base/Dockerfile", "FROM scratch\n")
        .tasks_toml("[stack]\nimages-dir = \".\"\n[images.base]\n")
        .arg("graph")
        .stdout_contains("digraph")
        .run();
}

/// A type error in a table written only through its sub-table's header (`[images.base.test]`
/// without `[images.base]`) read "invalid type: string \"test\", expected a borrowed string".
#[test]
fn a_type_error_under_an_implicit_table_names_the_value() {
    stack_without_image_table("[images.base.test]\ncpus = false\n")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid tasks.toml: invalid type: boolean `false`, expected f64
  --> [ROOT]/tasks.toml:3:8
    | cpus = false

"#]])
        .run();
    Test::new()
        .tasks_toml("[tasks.a.env]\nX = false\n")
        .arg("a")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid tasks.toml: invalid type: boolean `false`, expected a string
  --> [ROOT]/tasks.toml:2:5
    | X = false

"#]])
        .run();
}

fn stack_without_image_table(images_toml: &str) -> Test {
    Test::new()
        .file("images/base/Dockerfile", "FROM scratch\n")
        .tasks_toml(&format!("[stack]\n{images_toml}"))
        .arg("graph")
}
