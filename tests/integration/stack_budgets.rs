//! Budgets (issue 15, point 6) against the real engine and registry: an image over its size
//! budget fails its test (IMAGES_TEST_ERROR, junit naming the budget and both numbers) and the
//! push refuses it; a size-growth budget compares with the version pushed before, read from the
//! metrics stored beside it in the registry; bad budget values are exit 2 at their position.
use crate::harness::Test;
use crate::stack_fixture::{docker_available, registry, StackFixture};
use dorun_docker::{referrers_tag, Registry};
use serde_json::Value;

fn metrics(f: &StackFixture, key: &str) -> Value {
    serde_json::from_str(&f.read(&format!("artifacts/metrics/{key}.json"))).unwrap()
}

#[test]
fn an_image_over_its_size_budget_fails_its_test_and_is_not_pushed() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let f = StackFixture::new(
        &[("base", None)],
        &host,
        "[images.base.budgets]\nsize = \"1k\"\n",
    );
    f.test().args(&["-k", "push"]).status(1).run();
    let human = f.list("IMAGES_BUILT")[0].clone();
    assert_eq!(f.list("IMAGES_TEST_ERROR"), std::slice::from_ref(&human));
    assert!(f.list("IMAGES_TEST_PASSED").is_empty());
    assert!(f.ran("push:").is_empty());

    let size = metrics(&f, "base")["numbers"]["size_bytes"]
        .as_i64()
        .unwrap();
    assert!(size > 1024, "busybox is larger than 1 KiB: {size}");
    let junit = f.read("artifacts/junit.xml");
    let re = regex::Regex::new(
        r#"name="base: budget size"[^>]*>\s*<failure message="over the size budget: size [0-9.]+ (KiB|MiB) \(budget 1\.0 KiB\)""#,
    )
    .unwrap();
    assert!(re.is_match(&junit), "{junit}");

    let out = f.test().args(&["--only", "push:*"]).status(1).run();
    let text = out.all();
    assert!(text.contains("push refused"), "{text}");
    assert!(text.contains(&format!("{human} (tests failed)")), "{text}");
    let reg = Registry::new(&host, None);
    let repo = format!("{}/base", f.namespace);
    assert!(
        reg.tags(&repo).unwrap_or_default().is_empty(),
        "nothing pushed"
    );

    // Budgets are part of the test fingerprint: raising one tests again, and now it passes.
    let toml = f
        .read("tasks.toml")
        .replace("size = \"1k\"", "size = \"100m\"");
    f.write("tasks.toml", &toml);
    f.test().args(&["test"]).run();
    assert_eq!(f.ran("test:"), ["test:base"]);
    assert_eq!(f.list("IMAGES_TEST_PASSED"), [human]);
}

#[test]
fn a_size_growth_budget_compares_with_the_version_pushed_before() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let f = StackFixture::new(
        &[("base", None)],
        &host,
        "[stack.budgets]\nsize-growth = \"10%\"\n",
    );
    // First version: nothing to compare with, so the budget passes; the push stores the
    // metrics beside the pushed image.
    f.test().arg("push").run();
    let first = metrics(&f, "base");
    assert_eq!(first["previous"], Value::Null, "{first}");
    let reg = Registry::new(&host, None);
    let repo = format!("{}/base", f.namespace);
    let stable = reg.manifest_digest(&repo, "stable").unwrap().unwrap();
    let stored = reg
        .artifact(&repo, &referrers_tag(&stable, "metrics"))
        .unwrap()
        .expect("metrics stored beside the pushed image");
    let stored: Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(stored["numbers"], first["numbers"]);

    // Second version, 3 MB larger (busybox is about 1-2 MB): far over 10%.
    f.append(
        "images/base/Dockerfile",
        "RUN head -c 3000000 /dev/zero > /padding\n",
    );
    f.test().arg("push").status(1).run();
    let second = metrics(&f, "base");
    let previous = &second["previous"];
    assert_eq!(
        previous["reference"].as_str().unwrap(),
        format!("{host}/{repo}:stable")
    );
    assert_eq!(
        previous["numbers"], first["numbers"],
        "read from the registry"
    );
    assert_eq!(previous["size_compressed"], false);
    let junit = f.read("artifacts/junit.xml");
    assert!(
        junit.contains("over the size-growth budget: size +")
            && junit.contains(&format!("of {host}/{repo}:stable to ")),
        "{junit}"
    );
    assert_eq!(f.list("IMAGES_TEST_ERROR").len(), 1);
    assert_eq!(
        reg.manifest_digest(&repo, "stable").unwrap().unwrap(),
        stable,
        "the larger image was not pushed"
    );

    // The report shows the change against the previous version.
    let md = f.read("manifests/REPORT.md");
    assert!(md.contains("vs previous)"), "{md}");
}

/// A project with one image and these budgets, checked by `graph` (no engine needed).
fn budgets(stack: &str, image: &str) -> Test {
    Test::new()
        .file("images/base/Dockerfile", "FROM scratch\n")
        .tasks_toml(&format!(
            "[stack]\n[stack.budgets]\n{stack}\n[images.base]\n[images.base.budgets]\n{image}\n\
             [tasks]\nbuild = {{ builtin = \"images-build\" }}\n"
        ))
        .arg("graph")
}

#[test]
fn bad_budget_values_are_refused_at_their_position() {
    for (stack, image, why, at) in [
        (
            "size = \"lots\"",
            "",
            "invalid size budget `lots`: not a size",
            "3:8",
        ),
        (
            "",
            "memory = \"-1m\"",
            "invalid memory budget `-1m`: below zero",
            "6:10",
        ),
        (
            "",
            "size-growth = \"10\"",
            "invalid size-growth budget `10`: no `%`",
            "6:15",
        ),
        ("start = \"soon\"", "", "invalid duration `soon`", "3:9"),
    ] {
        budgets(stack, image)
            .status(2)
            .stderr_contains(why)
            .stderr_contains(&format!("tasks.toml:{at}"))
            .run();
    }
    budgets(
        "size = \"200m\"\nsize-growth = \"10%\"",
        "start = \"5s\"\nmemory = \"300m\"",
    )
    .stdout_contains("digraph")
    .run();
    budgets("sise = \"1m\"", "")
        .stderr_contains("unknown key `sise` in [stack.budgets] (ignored, did you mean `size`?)")
        .run();
}
