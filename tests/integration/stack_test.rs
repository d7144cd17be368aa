//! images-test against the real Docker engine: each check kind passing and failing, scripts,
//! inheritance, every test running whatever failed, timeouts, network and memory limits, no
//! container left behind (failure, Ctrl-C), the partial rerun after a fix, bad checks.toml.
//!
//! Most tests name the loopback registry without pushing to it: every image then stays
//! "changed" (not published) across runs, as in CI between a build and a push.
use crate::stack_fixture::{docker_available, registry, StackFixture};
use serde_json::Value;
use snapbox::str;
use std::time::{Duration, Instant};

const PAIR: &[(&str, Option<&str>)] = &[("base", None), ("child", Some("base"))];
const FAMILY: &[(&str, Option<&str>)] = &[("base", None), ("a", Some("base")), ("b", Some("base"))];

/// Test name → passed, from `artifacts/test/<variant>.json`.
fn cases(f: &StackFixture, variant: &str) -> Vec<(String, bool)> {
    let v: Value =
        serde_json::from_str(&f.read(&format!("artifacts/test/{variant}.json"))).unwrap();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn case(f: &StackFixture, variant: &str, name: &str) -> bool {
    let all = cases(f, variant);
    all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no test `{name}` for {variant} in {all:#?}"))
        .1
}

fn tested(f: &StackFixture) -> Vec<String> {
    f.ran("test:")
}

/// Containers of this fixture's images still present, running or not.
pub(crate) fn leftovers(f: &StackFixture, reg: &str, image: &str) -> Vec<String> {
    let engine = dorun_docker::Engine::connect().unwrap();
    engine
        .containers_with_label(&format!("dorun.repository={}", f.repo(reg, image)))
        .unwrap()
}

/// junit.xml without the timings, which differ from run to run.
fn junit_shape(f: &StackFixture) -> String {
    let re = regex::Regex::new(r#" time="[0-9.]+""#).unwrap();
    re.replace_all(&f.read("artifacts/junit.xml"), "")
        .to_string()
}

#[test]
fn each_check_kind_passes_and_fails_and_scripts_run() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.append(
        "images/base/Dockerfile",
        "ENV GREETING=hi\nLABEL maintainer=\"tester <t@example.invalid>\"\nEXPOSE 8080\n\
         USER 1000\nWORKDIR /tmp\nCMD [\"sh\"]\n",
    );
    f.write(
        "images/tests_common/checks.toml",
        r#"
command = [
  { name = "echo", run = "echo hello; echo oops >&2", stdout = '^hello$', stderr = 'oops' },
  { name = "env", run = 'test "$WHO" = tester && test "$GREETING" = hi', env = { WHO = "tester" } },
  { name = "exit", run = "exit 3", exit-code = 3 },
]
file = [
  { path = "/image-name", exists = true, mode = "-rw-r--r--", contains = '^base$', uid = 0, gid = 0 },
  { path = "/nowhere", exists = false },
  { path = "/bin/sh", mode = "-rwxr-xr-x" },
]
metadata = { user = "1000", workdir = "/tmp", env = { GREETING = "hi" }, labels = { maintainer = "^tester" }, exposed-ports = [8080], cmd = ["sh"] }
"#,
    );
    f.write(
        "images/base/test/checks.toml",
        r#"
command = [
  { name = "wrong exit", run = "exit 3" },
  { name = "wrong stdout", run = "echo bye", stdout = "hello" },
]
file = [
  { path = "/nowhere" },
  { path = "/image-name", mode = "-rwxrwxrwx" },
  { path = "/image-name", contains = "child" },
]
metadata = { user = "root", labels = { maintainer = "^nobody" }, exposed-ports = ["9090"] }
"#,
    );
    f.write("images/base/test/lib.sh", "answer=42\n");
    f.script(
        "images/base/test/test_ok",
        ". \"$DORUN_TEST_DIR/lib.sh\"; echo \"answer $answer as $(id -u)\"",
    );
    f.script(
        "images/base/test/test_fails",
        "echo about to fail; echo details >&2; exit 4",
    );
    f.write(
        "images/base/test/test_not_executable",
        "#!/bin/sh\nexit 1\n",
    );

    let out = f
        .test()
        .arg("test")
        .status(1)
        .stdout_eq(str![])
        .stderr_eq(str![[r#"
start changed
ok    changed ([ELAPSED])
start build:base
...
ok    build:base ([ELAPSED])
start test:base
  test:base [1/4] images/tests_common/checks.toml
  test:base [2/4] images/base/test/checks.toml
  test:base [3/4] images/base/test/test_fails
  test:base [4/4] images/base/test/test_ok
FAIL  test:base: 9 of 22 tests failed: images/base/test/checks.toml: command "wrong exit", images/base/test/checks.toml: command "wrong stdout", images/base/test/checks.toml: file /nowhere, images/base/test/checks.toml: file /image-name, images/base/test/checks.toml: file /image-name, 4 more
  | --- FAIL images/base/test/checks.toml: metadata exposed-ports ([ELAPSED]): not exposed: 9090/tcp
  | === images/base/test/test_fails
  | about to fail
  | --- stderr
  | details
  | --- FAIL images/base/test/test_fails ([ELAPSED]): exit code 4
  | === images/base/test/test_ok
  | answer 42 as 1000
  | --- PASS images/base/test/test_ok ([ELAPSED])
  | 
  | base: 22 test(s), 13 passed, 9 failed
  |   FAIL images/base/test/checks.toml: command "wrong exit": exit code 3, expected 0
  |   FAIL images/base/test/checks.toml: command "wrong stdout": stdout does not match /hello/
  |   FAIL images/base/test/checks.toml: file /nowhere: /nowhere does not exist
  |   FAIL images/base/test/checks.toml: file /image-name: mode is -rw-r--r--, expected -rwxrwxrwx
  |   FAIL images/base/test/checks.toml: file /image-name: contents do not match /child/
  |   FAIL images/base/test/checks.toml: metadata user: user is "1000", expected "root"
  |   FAIL images/base/test/checks.toml: metadata label maintainer: label maintainer is "tester <t@example.invalid>", which does not match /^nobody/
  |   FAIL images/base/test/checks.toml: metadata exposed-ports: not exposed: 9090/tcp
  |   FAIL images/base/test/test_fails: exit code 4
  (full log: [ROOT]/logs/test/base.log)
skip  test: dependency test:base failed
failed (1):
  test:base: 9 of 22 tests failed: images/base/test/checks.toml: command "wrong exit", images/base/test/checks.toml: command "wrong stdout", images/base/test/checks.toml: file /nowhere, images/base/test/checks.toml: file /image-name, images/base/test/checks.toml: file /image-name, 4 more
skipped (1):
  test: dependency test:base failed
2 ran, 0 up to date, 1 failed, 1 skipped
image  passed  failed  reference
base       13       9  [REGISTRY]/[NAMESPACE]/base:t1
  FAIL images/base/test/checks.toml: command "wrong exit": exit code 3, expected 0
  FAIL images/base/test/checks.toml: command "wrong stdout": stdout does not match /hello/
  FAIL images/base/test/checks.toml: file /nowhere: /nowhere does not exist
  FAIL images/base/test/checks.toml: file /image-name: mode is -rw-r--r--, expected -rwxrwxrwx
  FAIL images/base/test/checks.toml: file /image-name: contents do not match /child/
  FAIL images/base/test/checks.toml: metadata user: user is "1000", expected "root"
  FAIL images/base/test/checks.toml: metadata label maintainer: label maintainer is "tester <t@example.invalid>", which does not match /^nobody/
  FAIL images/base/test/checks.toml: metadata exposed-ports: not exposed: 9090/tcp
  FAIL images/base/test/test_fails: exit code 4


"#]])
        .run();
    let text = out.all();
    assert!(text.contains("9 of 22 tests failed"), "{text}");

    let common = "images/tests_common/checks.toml";
    for name in [
        "command \"echo\"",
        "command \"env\"",
        "command \"exit\"",
        "file /image-name",
        "file /nowhere",
        "file /bin/sh",
        "metadata user",
        "metadata workdir",
        "metadata env GREETING",
        "metadata label maintainer",
        "metadata exposed-ports",
        "metadata cmd",
    ] {
        assert!(
            case(&f, "base", &format!("{common}: {name}")),
            "{name} should pass"
        );
    }
    let own = "images/base/test/checks.toml";
    for name in [
        "command \"wrong exit\"",
        "command \"wrong stdout\"",
        "file /nowhere",
        "metadata user",
        "metadata label maintainer",
        "metadata exposed-ports",
    ] {
        assert!(
            !case(&f, "base", &format!("{own}: {name}")),
            "{name} should fail"
        );
    }
    let files: Vec<bool> = cases(&f, "base")
        .into_iter()
        .filter(|(n, _)| n == &format!("{own}: file /image-name"))
        .map(|(_, p)| p)
        .collect();
    assert_eq!(files, [false, false], "wrong mode, wrong contents");
    assert!(case(&f, "base", "images/base/test/test_ok"));
    assert!(!case(&f, "base", "images/base/test/test_fails"));
    assert_eq!(
        cases(&f, "base").len(),
        22,
        "test_not_executable is no test"
    );

    // Messages and outputs: in the log in full, in junit.xml as message and tail.
    let log = f.read("logs/test/base.log");
    for expected in [
        "exit code 3, expected 0",
        "stdout does not match /hello/",
        "/nowhere does not exist",
        "mode is -rw-r--r--, expected -rwxrwxrwx",
        "contents do not match /child/",
        "user is \"1000\", expected \"root\"",
        "not exposed: 9090/tcp",
        "answer 42 as 1000",
        "about to fail",
        "details",
        "test_not_executable is not executable",
    ] {
        assert!(log.contains(expected), "log lacks {expected:?}:\n{log}");
    }
    let junit = f.read("artifacts/junit.xml");
    assert!(junit.contains("tests=\"22\""), "{junit}");
    assert!(junit.contains("failures=\"9\""), "{junit}");
    assert!(
        junit.contains("name=\"base: images/base/test/test_fails\""),
        "{junit}"
    );
    assert!(junit.contains("message=\"exit code 4\""), "{junit}");
    assert!(
        junit.contains("about to fail"),
        "output tail in junit: {junit}"
    );

    assert_eq!(
        f.list("IMAGES_TEST_ERROR"),
        [format!("{}:t1", f.repo(&reg, "base"))]
    );
    assert!(f.list("IMAGES_TEST_PASSED").is_empty());
    assert!(leftovers(&f, &reg, "base").is_empty());
}

#[test]
fn children_run_their_ancestors_tests_and_one_failure_stops_no_other_test() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(FAMILY, &reg, "");
    f.write(
        "images/tests_common/checks.toml",
        "file = [{ path = \"/image-name\" }]\n",
    );
    f.script("images/base/test/test_busybox", "busybox true");
    // a's own checks fail first; the script after them still runs.
    f.write(
        "images/a/test/checks.toml",
        "command = [{ name = \"is b\", run = \"grep -x b /image-name\" }]\n",
    );
    f.script("images/a/test/test_base_tag", "test -s /base-tag");
    f.script("images/b/test/test_name", "grep -x b /image-name");

    let out = f
        .test()
        .args(&["-k", "-j", "2", "test"])
        .status(1)
        .stdout_eq(str![])
        .stderr_eq(str![[r#"
...
FAIL  test:a: 1 of 4 tests failed: images/a/test/checks.toml: command "is b"
  | testing [REGISTRY]/[NAMESPACE]/a:t1-id-[ID] ([REGISTRY]/[NAMESPACE]/a:t1) with 4 test file(s); limits: memory unlimited, cpus unlimited, network default, timeout 10m
  | === images/tests_common/checks.toml: file /image-name
  | -rw-r--r-- 0:0 2 bytes
  | --- PASS images/tests_common/checks.toml: file /image-name ([ELAPSED])
  | === images/base/test/test_busybox
  | --- PASS images/base/test/test_busybox ([ELAPSED])
  | === images/a/test/checks.toml: command "is b"
  | $ grep -x b /image-name
  | --- FAIL images/a/test/checks.toml: command "is b" ([ELAPSED]): exit code 1, expected 0
  | === images/a/test/test_base_tag
  | --- PASS images/a/test/test_base_tag ([ELAPSED])
  | 
  | a: 4 test(s), 3 passed, 1 failed
  |   FAIL images/a/test/checks.toml: command "is b": exit code 1, expected 0
  (full log: [ROOT]/logs/test/a.log)
...
failed (1):
  test:a: 1 of 4 tests failed: images/a/test/checks.toml: command "is b"
skipped (1):
  test: dependency test:a failed
6 ran, 0 up to date, 1 failed, 1 skipped
image  passed  failed  reference
base        2       0  [REGISTRY]/[NAMESPACE]/base:t1
a           3       1  [REGISTRY]/[NAMESPACE]/a:t1
  FAIL images/a/test/checks.toml: command "is b": exit code 1, expected 0
b           3       0  [REGISTRY]/[NAMESPACE]/b:t1


"#]])
        .run();
    assert_eq!(tested(&f), ["test:b", "test:base"]);
    let text = out.all();
    assert!(
        text.contains("test:a")
            && text.contains("1 of 4 tests failed: images/a/test/checks.toml: command \"is b\""),
        "{text}"
    );

    let names = |v: &str| cases(&f, v).into_iter().map(|c| c.0).collect::<Vec<_>>();
    assert_eq!(
        names("a"),
        [
            "images/tests_common/checks.toml: file /image-name",
            "images/base/test/test_busybox",
            "images/a/test/checks.toml: command \"is b\"",
            "images/a/test/test_base_tag",
        ],
        "common tests, then the parent's, then its own"
    );
    assert!(
        case(&f, "a", "images/a/test/test_base_tag"),
        "ran after a failure"
    );
    assert_eq!(names("b").len(), 3);
    assert!(!names("base").iter().any(|n| n.contains("images/b/")));

    let r = |i: &str| format!("{}:t1", f.repo(&reg, i));
    assert_eq!(f.list("IMAGES_TEST_PASSED"), [r("base"), r("b")]);
    assert_eq!(f.list("IMAGES_TEST_ERROR"), [r("a")]);
    let junit = f.read("artifacts/junit.xml");
    assert!(
        junit.contains("<testsuite name=\"a\" tests=\"4\""),
        "{junit}"
    );
    assert!(
        junit.contains("name=\"b: images/base/test/test_busybox\""),
        "{junit}"
    );
    assert!(f
        .read("logs/test/a.log")
        .contains("=== images/a/test/test_base_tag"));
}

#[test]
fn passed_tests_are_up_to_date_until_their_image_or_test_files_change_and_failures_rerun() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(PAIR, &reg, "");
    // Tests outside the build context: editing them changes no identity.
    f.write("images/child/.dockerignore", "test/\n");
    f.script("images/child/test/test_ok", "true");
    f.test().arg("test").run();
    assert_eq!(tested(&f), ["test:base", "test:child"]);

    f.test().arg("test").run();
    assert!(
        tested(&f).is_empty(),
        "second run retested {:?}",
        tested(&f)
    );

    // A test file change retests its image without rebuilding it.
    f.script("images/child/test/test_ok", "true # edited");
    f.test().arg("test").run();
    assert_eq!(tested(&f), ["test:child"]);
    assert!(f.ran("build:").is_empty());
    let out = f.test().args(&["info", "test:child"]).run();
    assert!(out.stdout.contains("up to date"), "{}", out.all());

    // A failure is not recorded: the same test runs again although nothing changed.
    f.script("images/child/test/test_later", "exit 1");
    f.test().arg("test").status(1).run();
    f.test().arg("test").status(1).run();
    assert_eq!(tested(&f), Vec::<String>::new(), "failed, not ran");
    let run: Value = serde_json::from_str(&f.read("artifacts/run.json")).unwrap();
    let status = run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "test:child")
        .map(|t| t["status"].as_str().unwrap().to_string());
    assert_eq!(status.as_deref(), Some("failed"));

    // -B reruns passing tests too.
    std::fs::remove_file(f.path().join("images/child/test/test_later")).unwrap();
    f.test().arg("test").run();
    f.test().args(&["-B", "test:base"]).run();
    assert_eq!(tested(&f), ["test:base"]);
}

#[test]
fn a_test_past_its_timeout_fails_and_its_container_is_killed() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.image_setting("base", "test = { timeout = \"2s\" }");
    f.script("images/base/test/test_sleep", "echo sleeping; sleep 60");
    f.script("images/base/test/test_after", "echo still ran");
    let started = Instant::now();
    f.test().arg("test").status(1).run();
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    let log = f.read("logs/test/base.log");
    assert!(
        log.contains("timed out after 2s; the container was killed"),
        "{log}"
    );
    assert!(
        log.contains("sleeping"),
        "output before the timeout is kept: {log}"
    );
    assert!(case(&f, "base", "images/base/test/test_after"));
    assert!(leftovers(&f, &reg, "base").is_empty());
}

#[test]
fn limits_apply_network_none_has_no_network_and_memory_is_capped() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("isolated", None), ("open", None)], &reg, "");
    f.image_setting(
        "isolated",
        "test = { memory = \"64m\", cpus = 0.5, network = \"none\" }",
    );
    let probe = "ls /sys/class/net | tr '\\n' ' '; echo\n\
                 cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes";
    f.script(
        "images/isolated/test/test_limits",
        &format!("{probe}\n[ \"$(ls /sys/class/net)\" = lo ]"),
    );
    f.script(
        "images/open/test/test_limits",
        &format!("{probe}\nls /sys/class/net | grep -qv '^lo$'"),
    );
    f.test().arg("test").run();

    let log = f.read("logs/test/isolated.log");
    assert!(
        log.contains("[container limits applied: memory 67108864 bytes, network none]"),
        "{log}"
    );
    assert!(
        log.contains("\n67108864\n"),
        "the cgroup inside sees the limit: {log}"
    );
    assert!(log.contains("lo \n"), "{log}");
    let log = f.read("logs/test/open.log");
    assert!(
        !log.contains("67108864") && !log.contains("container limits"),
        "{log}"
    );
}

/// Runs `dorun test`, sends `signal` once `ready` says so (given its stderr so far), and checks
/// that dorun stops quickly with 130, leaving no container and no result behind.
fn interrupt_test_run(f: &StackFixture, reg: &str, signal: i32, ready: &dyn Fn(&str) -> bool) {
    let mut running = f.test().args(&["-v", "test"]).status(130).spawn();
    let reached = running.wait_until(
        "the moment to interrupt",
        60,
        Duration::from_millis(50),
        |r| ready(&r.stderr_so_far()),
    );
    assert!(reached, "dorun ended before it was interrupted");
    let signalled = Instant::now();
    running.signal(signal);
    running.wait();
    assert!(
        signalled.elapsed() < Duration::from_secs(30),
        "dorun took {:?} to stop",
        signalled.elapsed()
    );
    assert!(
        leftovers(f, reg, "base").is_empty(),
        "containers left after signal {signal}"
    );
    // Nothing recorded: the test is not up to date, and no partial results count.
    assert!(!f.exists("artifacts/test/base.json"));
    f.test()
        .args(&["plan", "test:base"])
        .stdout_contains("test:base")
        .run();
}

#[test]
fn no_container_is_left_after_an_interrupted_run() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.script("images/base/test/test_slow", "sleep 120");
    f.test().arg("build").run();
    // While the test container runs.
    let running = |_: &str| !leftovers(&f, &reg, "base").is_empty();
    interrupt_test_run(&f, &reg, libc::SIGINT, &running);
    // As the test starts (`-v` prints its steps), while its container is being created.
    interrupt_test_run(&f, &reg, libc::SIGINT, &|stderr| {
        stderr.contains("[1/1] images/base/test/test_slow")
    });
}

/// `kill` and a closed terminal stop a test run the way Ctrl-C does.
#[test]
fn sigterm_and_sighup_stop_a_test_run_like_ctrl_c() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.script("images/base/test/test_slow", "sleep 120");
    f.test().arg("build").run();
    let running = |_: &str| !leftovers(&f, &reg, "base").is_empty();
    interrupt_test_run(&f, &reg, libc::SIGTERM, &running);
    interrupt_test_run(&f, &reg, libc::SIGHUP, &running);
}

#[test]
fn fixing_one_image_reruns_only_it_and_artifacts_equal_a_clean_run() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(FAMILY, &reg, "");
    f.script("images/base/test/test_base", "test -s /image-name");
    f.script(
        "images/a/test/test_fixed",
        "test -f /fixed || { echo '/fixed is missing'; exit 1; }",
    );
    f.script("images/b/test/test_b", "grep -qx b /image-name");

    f.test().args(&["-k", "test"]).status(1).run();
    let r = |i: &str| format!("{}:t1", f.repo(&reg, i));
    assert_eq!(f.list("IMAGES_TEST_PASSED"), [r("base"), r("b")]);
    assert_eq!(f.list("IMAGES_TEST_ERROR"), [r("a")]);

    f.append("images/a/Dockerfile", "RUN touch /fixed\n");
    let out = f.test().args(&["-k", "test"]).run();
    assert_eq!(f.ran("build:"), ["build:a"], "{}", out.all());
    assert_eq!(tested(&f), ["test:a"]);
    assert_eq!(f.list("IMAGES_TEST_PASSED"), [r("base"), r("a"), r("b")]);
    assert!(f.list("IMAGES_TEST_ERROR").is_empty());
    let resumed = (
        f.list("IMAGES_BUILT"),
        f.list("IMAGES_TEST_PASSED"),
        f.list("IMAGES_TEST_ERROR"),
        junit_shape(&f),
    );

    // One clean run of the same sources: no state, no artifacts, no local images.
    for dir in ["artifacts", ".dorun", "logs"] {
        std::fs::remove_dir_all(f.path().join(dir)).unwrap();
    }
    let engine = dorun_docker::Engine::connect().unwrap();
    assert!(engine.remove_images_matching(&f.namespace).unwrap() >= 3);
    f.test().args(&["-k", "test"]).run();
    assert_eq!(tested(&f), ["test:a", "test:b", "test:base"]);
    let clean = (
        f.list("IMAGES_BUILT"),
        f.list("IMAGES_TEST_PASSED"),
        f.list("IMAGES_TEST_ERROR"),
        junit_shape(&f),
    );
    assert_eq!(resumed, clean);
}

#[test]
fn a_bad_checks_toml_exits_2_naming_file_line_and_column() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(PAIR, "", "");
    f.write(
        "images/child/test/checks.toml",
        "# a comment\ncommand = [{ run = \"true\", stdot = \"x\" }]\n",
    );
    for command in ["test", "list"] {
        f.test()
            .arg(command)
            .status(2)
            .stderr_contains("images/child/test/checks.toml:2:")
            .stderr_contains("unknown field `stdot`")
            .run();
    }
    f.write(
        "images/child/test/checks.toml",
        "file = [\n  { path = \"/x\", contains = \"(unclosed\" },\n]\n",
    );
    let out = f.test().arg("test").status(2).run();
    let err = out.stderr;
    assert!(err.contains("invalid contains regex"), "{err}");
    assert!(err.contains("images/child/test/checks.toml:2:29"), "{err}");
    assert!(
        !f.path().join("artifacts/IMAGES_BUILT").exists(),
        "nothing ran"
    );
}
