//! Test environments (issue 15): services started on a private network before an image's
//! tests (a stack image as the "database", reached by its name), a service that never becomes
//! healthy failing the tests with its output, tmpfs in the tested container, and nothing
//! (containers, networks) left behind after a passing, a failing and a killed run.
use crate::stack_fixture::{docker_available, registry, StackFixture};
use crate::stack_test::leftovers;
use std::time::Duration;

/// `db` serves `pong` over HTTP on port 8080 (busybox httpd); `app` is tested against it.
fn db_and_app(reg: &str) -> StackFixture {
    let f = StackFixture::new(&[("app", None), ("db", None)], reg, "");
    f.append(
        "images/db/Dockerfile",
        "RUN mkdir /www && echo pong > /www/index.html\n\
         CMD [\"sh\", \"-c\", \"echo db says hello; exec httpd -f -p 8080 -h /www\"]\n",
    );
    f
}

/// Networks made for this fixture's tests of `image`, still present.
fn networks(f: &StackFixture, reg: &str, image: &str) -> Vec<String> {
    let engine = dorun_docker::Engine::connect().unwrap();
    engine
        .networks_with_label(&format!("dorun.repository={}", f.repo(reg, image)))
        .unwrap()
}

#[track_caller]
fn nothing_left(f: &StackFixture, reg: &str) {
    assert_eq!(leftovers(f, reg, "app"), Vec::<String>::new(), "containers");
    assert_eq!(networks(f, reg, "app"), Vec::<String>::new(), "networks");
}

#[test]
fn a_service_built_in_the_stack_is_reached_by_name_on_an_internal_network() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = db_and_app(&reg);
    f.image_setting(
        "app",
        "[images.app.test]\nnetwork = \"none\"\n\
         [images.app.test.services.db]\nimage = \"db\"\nenv = { ROLE = \"database\" }\n\
         health = { run = \"wget -q -O /dev/null http://127.0.0.1:8080/ && test \\\"$ROLE\\\" = database\", interval = \"200ms\", retries = 50 }",
    );
    f.script(
        "images/app/test/test_db",
        "answer=$(wget -q -O - http://db:8080/) && echo \"db answered $answer\" && test \"$answer\" = pong",
    );
    let out = f.test().arg("test").run();
    assert!(out.stderr.contains("ok    test:app"), "{}", out.stderr);
    let log = f.read("logs/test/app.log");
    assert!(log.contains("service db is ready"), "{log}");
    // network = "none": the services' network leads nowhere else (the engine's `internal`).
    assert!(log.contains("(internal: no outside network)"), "{log}");
    assert!(log.contains("db answered pong"), "{log}");
    // test:app waited for build:db: the plan lists it as a dependency.
    let plan = f.test().arg("plan").arg("test:app").run();
    assert!(plan.stdout.contains("build:db"), "{}", plan.stdout);
    nothing_left(&f, &reg);
}

#[test]
fn a_service_that_never_becomes_healthy_fails_the_tests_with_its_output() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = db_and_app(&reg);
    f.image_setting(
        "app",
        "[images.app.test.services.db]\nimage = \"db\"\n\
         health = { run = \"exit 1\", interval = \"200ms\", retries = 2 }",
    );
    f.script("images/app/test/test_never_runs", "exit 0");
    let out = f.test().arg("test").status(1).run();
    assert!(
        out.stderr.contains("FAIL  test:app") && out.stderr.contains("service db"),
        "{}",
        out.stderr
    );
    let log = f.read("logs/test/app.log");
    assert!(log.contains("service `db` never became healthy"), "{log}");
    assert!(
        log.contains("db says hello"),
        "the service's log tail: {log}"
    );
    assert!(!log.contains("test_never_runs\n--- PASS"), "{log}");
    assert!(f
        .read("artifacts/IMAGES_TEST_ERROR")
        .contains(&f.repo(&reg, "app")));
    // Its size and layers are recorded all the same.
    assert!(f.read("artifacts/metrics/app.json").contains("\"layers\""));
    nothing_left(&f, &reg);
}

#[test]
fn the_tested_container_has_its_tmpfs() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.image_setting("base", "test = { tmpfs = [\"/scratch:size=8m\"] }");
    f.script(
        "images/base/test/test_tmpfs",
        "grep ' /scratch tmpfs ' /proc/mounts",
    );
    f.test().arg("test").run();
    let log = f.read("logs/test/base.log");
    assert!(log.contains("/scratch tmpfs"), "{log}");
}

#[test]
fn services_of_a_killed_run_are_removed_by_the_next_run() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = db_and_app(&reg);
    f.image_setting("app", "[images.app.test.services.db]\nimage = \"db\"");
    f.script("images/app/test/test_forever", "sleep 300");
    f.test().arg("build").run();
    let mut dorun = f.test().arg("test").status(128 + libc::SIGKILL).spawn();
    // The test container runs once the service and network are up.
    let running = dorun.wait_until(
        "a test and a service",
        60,
        Duration::from_millis(100),
        |_| leftovers(&f, &reg, "app").len() >= 2,
    );
    assert!(running, "dorun ended early");
    assert_eq!(networks(&f, &reg, "app").len(), 1);
    dorun.signal(libc::SIGKILL);
    dorun.wait();
    let out = f.test().arg("build").run();
    assert!(
        out.stderr
            .contains("removed 1 network left by a killed dorun run"),
        "{}",
        out.stderr
    );
    nothing_left(&f, &reg);
}

#[test]
fn bad_service_settings_stop_dorun_where_they_are_written() {
    let f = StackFixture::new(&[("app", None), ("db", None)], "", "");
    let toml = f.read("tasks.toml");
    for (setting, expected) in [
        (
            "image = \"dbb\"",
            "unknown stack image `dbb` (did you mean `db`?)",
        ),
        ("image = \"db@slim\"", "unknown plan `slim`"),
        (
            "image = \"db\"\nmemory = \"lots\"",
            "invalid memory limit `lots`",
        ),
        (
            "image = \"db\"\nhealth = { run = \"true\", interval = \"soon\" }",
            "invalid duration `soon`",
        ),
        (
            "image = \"db\"\nhealth = { run = \"true\", retries = 0 }",
            "invalid retries `0`",
        ),
        (
            "image = \"db\"\nhelth = { run = \"true\" }",
            "unknown field `helth`",
        ),
        ("image = \"db\"\ntmpfs = [\"tmp\"]", "invalid tmpfs `tmp`"),
    ] {
        f.write(
            "tasks.toml",
            &format!("{toml}[images.app.test.services.db]\n{setting}\n"),
        );
        let out = f.test().arg("list").status(2).run();
        assert!(out.stderr.contains(expected), "{setting}: {}", out.stderr);
        assert!(
            out.stderr.contains("tasks.toml:"),
            "{setting}: {}",
            out.stderr
        );
    }
    f.write(
        "tasks.toml",
        &format!("{toml}[images.app.test]\nnetwork = \"host\"\n[images.app.test.services.db]\nimage = \"db\"\n"),
    );
    let out = f.test().arg("list").status(2).run();
    assert!(
        out.stderr.contains("cannot be combined with services"),
        "{}",
        out.stderr
    );
}

/// Runs `dorun test`, sends SIGINT once `ready` says so, and checks that dorun stops with 130
/// quickly, leaving no container and no network.
fn interrupt(f: &StackFixture, reg: &str, ready: &dyn Fn() -> bool) {
    let mut dorun = f.test().arg("test").status(130).spawn();
    let reached = dorun.wait_until(
        "the moment to interrupt",
        60,
        Duration::from_millis(50),
        |_| ready(),
    );
    assert!(reached, "dorun ended before it was interrupted");
    let signalled = std::time::Instant::now();
    dorun.signal(libc::SIGINT);
    dorun.wait();
    assert!(
        signalled.elapsed() < Duration::from_secs(30),
        "{:?}",
        signalled.elapsed()
    );
    nothing_left(f, reg);
}

#[test]
fn ctrl_c_removes_the_services_and_their_network() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = db_and_app(&reg);
    // Healthy only once /ready exists: never, until the second half.
    f.image_setting(
        "app",
        "[images.app.test.services.db]\nimage = \"db\"\n\
         health = { run = \"test -f /ready || test -n \\\"$HEALTHY\\\"\", interval = \"200ms\", retries = 1000 }",
    );
    f.script("images/app/test/test_slow", "sleep 120");
    f.test().arg("build").run();
    // While dorun waits for the service to become healthy.
    interrupt(&f, &reg, &|| leftovers(&f, &reg, "app").len() == 1);
    // While a test runs beside a healthy service.
    let toml = f.read("tasks.toml");
    f.write(
        "tasks.toml",
        &toml.replace(
            "image = \"db\"\n",
            "image = \"db\"\nenv = { HEALTHY = \"1\" }\n",
        ),
    );
    interrupt(&f, &reg, &|| leftovers(&f, &reg, "app").len() == 2);
}
