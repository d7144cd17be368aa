//! Measurements (issue 15): `test:X` records size, layers and build seconds of every tested
//! image, and with `[measure]` (inherited: stack, ancestors, image) the cold start — median of
//! the runs, until a ready line — and the memory the image holds once ready, from the engine's
//! stats; an image that never gets ready fails its `measure` case. Nothing is left running.
use crate::stack_fixture::{docker_available, registry, StackFixture};
use crate::stack_test::leftovers;
use serde_json::Value;

fn metrics(f: &StackFixture, variant: &str) -> Value {
    serde_json::from_str(&f.read(&format!("artifacts/metrics/{variant}.json"))).unwrap()
}

#[test]
fn start_time_and_memory_are_measured_with_inherited_settings() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(
        &[("app", None), ("late", Some("app")), ("plain", None)],
        &reg,
        "[stack.measure]\nruns = 2\nduration = \"1s\"\n",
    );
    // 40 MB written to a tmpfs before the ready line: memory the container holds.
    f.append(
        "images/app/Dockerfile",
        "CMD [\"sh\", \"-c\", \"sleep 0.2; head -c 40000000 /dev/zero > /fill/zeros; echo listening on 8080; exec sleep 600\"]\n",
    );
    f.image_setting(
        "app",
        "test = { tmpfs = [\"/fill\"] }\nmeasure = { ready = 'listening on \\d+', runs = 3 }",
    );
    // Inherits app's ready line, which its command never prints.
    f.image_setting(
        "late",
        "test = { timeout = \"3s\", tmpfs = [\"/fill\"] }\nmeasure = { command = \"echo something else; sleep 600\" }",
    );
    f.append("images/plain/Dockerfile", "CMD [\"sleep\", \"600\"]\n");

    let out = f.test().arg("test").status(1).run();
    assert!(out.stderr.contains("ok    test:app"), "{}", out.stderr);
    assert!(out.stderr.contains("ok    test:plain"), "{}", out.stderr);
    assert!(out.stderr.contains("FAIL  test:late"), "{}", out.stderr);

    let app = metrics(&f, "app");
    let n = &app["numbers"];
    assert!(n["size_bytes"].as_i64().unwrap() > 500_000, "{app}");
    assert!(n["layers"].as_u64().unwrap() >= 2, "{app}");
    assert!(n["build_seconds"].as_f64().unwrap() > 0.0, "{app}");
    let runs = n["start_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{app}");
    let start = n["start_seconds"].as_f64().unwrap();
    assert!((0.2..30.0).contains(&start), "{app}");
    assert!(
        n["memory_peak_bytes"].as_u64().unwrap() >= 38_000_000,
        "{app}"
    );
    assert!(
        n["memory_average_bytes"].as_u64().unwrap() >= 38_000_000,
        "{app}"
    );
    assert_eq!(app["reference"], format!("{}:t1", f.repo(&reg, "app")));
    assert!(app["previous"].is_null(), "{app}");

    // The stack's measure: two runs, started counts as ready.
    let plain = metrics(&f, "plain");
    assert_eq!(
        plain["numbers"]["start_runs"].as_array().unwrap().len(),
        2,
        "{plain}"
    );
    assert!(
        plain["numbers"]["memory_peak_bytes"].as_u64().is_some(),
        "{plain}"
    );

    let late = f.read("logs/test/late.log");
    assert!(
        late.contains("--- FAIL measure")
            && late.contains("no line matched `listening on \\d+` within 3s"),
        "{late}"
    );
    assert!(late.contains("something else"), "the output tail: {late}");
    assert!(metrics(&f, "late")["numbers"]["start_seconds"].is_null());

    for image in ["app", "late", "plain"] {
        assert_eq!(leftovers(&f, &reg, image), Vec::<String>::new(), "{image}");
    }
}

#[test]
fn size_and_layers_are_recorded_without_a_measure_table() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.test().arg("test").run();
    let base = metrics(&f, "base");
    assert!(
        base["numbers"]["size_bytes"].as_i64().unwrap() > 0,
        "{base}"
    );
    assert!(base["numbers"]["layers"].as_u64().unwrap() >= 1, "{base}");
    assert!(base["numbers"]["start_seconds"].is_null(), "{base}");
    assert!(base["numbers"]["memory_peak_bytes"].is_null(), "{base}");
    assert!(!f.read("logs/test/base.log").contains("=== measure"));
}

#[test]
fn bad_measure_settings_stop_dorun_where_they_are_written() {
    let f = StackFixture::new(&[("app", None)], "", "");
    let toml = f.read("tasks.toml");
    for (setting, expected) in [
        ("ready = '('", "invalid ready regex"),
        ("runs = 0", "invalid runs `0`"),
        ("duration = \"forever\"", "invalid duration `forever`"),
        ("redy = \"x\"", "unknown field `redy`"),
    ] {
        f.write(
            "tasks.toml",
            &format!("{toml}[images.app.measure]\n{setting}\n"),
        );
        let out = f.test().arg("list").status(2).run();
        assert!(out.stderr.contains(expected), "{setting}: {}", out.stderr);
        assert!(
            out.stderr.contains("tasks.toml:"),
            "{setting}: {}",
            out.stderr
        );
    }
}

/// Budgets on measured numbers (issue 15, point 6): the memory an image holds once ready is
/// judged against its `memory` budget and the cold start against `start`; a start budget on an
/// image nothing measures fails instead of passing unchecked.
#[test]
fn memory_and_start_budgets_are_judged_on_the_measured_numbers() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("hog", None), ("unmeasured", None)], &reg, "");
    // 40 MB written to a tmpfs before it says it is ready: over a 20 MB budget.
    f.append(
        "images/hog/Dockerfile",
        "CMD [\"sh\", \"-c\", \"head -c 40000000 /dev/zero > /fill/zeros; echo ready; exec sleep 600\"]\n",
    );
    f.image_setting(
        "hog",
        "test = { tmpfs = [\"/fill\"] }\nmeasure = { ready = 'ready', runs = 1, duration = \"1s\" }\nbudgets = { memory = \"20m\", start = \"60s\" }",
    );
    f.image_setting("unmeasured", "budgets = { start = \"5s\" }");

    let out = f.test().arg("test").status(1).run();
    assert!(out.stderr.contains("FAIL  test:hog"), "{}", out.stderr);
    assert!(
        out.stderr.contains("FAIL  test:unmeasured"),
        "{}",
        out.stderr
    );
    let hog = f.read("logs/test/hog.log");
    assert!(
        hog.contains("--- FAIL budget memory") && hog.contains("(budget 20.0 MiB)"),
        "{hog}"
    );
    assert!(hog.contains("--- PASS budget start"), "{hog}");
    let unmeasured = f.read("logs/test/unmeasured.log");
    assert!(
        unmeasured.contains("--- FAIL budget start")
            && unmeasured.contains("set but nothing measured"),
        "{unmeasured}"
    );
    let errors = f.read("artifacts/IMAGES_TEST_ERROR");
    assert!(
        errors.contains("hog") && errors.contains("unmeasured"),
        "{errors}"
    );
    let junit = f.read("artifacts/junit.xml");
    assert!(
        junit.contains("over the memory budget: peak memory"),
        "{junit}"
    );
    assert!(leftovers(&f, &reg, "hog").is_empty());
}
