//! The registry cache against the real engine and registry: a stack built and pushed on the
//! main engine, then a leaf whose last step changed built on a second, empty engine (a fresh CI
//! runner, `second_engine`) with no state: the leaf's unchanged steps come from the registry.
use crate::second_engine::SecondEngine;
use crate::stack_fixture::{docker_available, registry, StackFixture};
use serde_json::Value;

/// `(instruction, cached)` of each step in `record`.
fn steps(record: &Value) -> Vec<(String, bool)> {
    record["steps"]
        .as_array()
        .expect("steps in the build record")
        .iter()
        .map(|s| {
            (
                s["instruction"].as_str().unwrap().to_string(),
                s["cached"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_fresh_engine_takes_a_leafs_unchanged_steps_from_the_registry() {
    if !docker_available() {
        return;
    }
    let Some(fresh) = SecondEngine::start() else {
        return;
    };
    let registry = registry();
    let f = StackFixture::new(&[("base", None), ("leaf", Some("base"))], &registry, "");
    // The namespace keeps other tests' BuildKit cache (keyed on content) out of the first step.
    let leaf = |last: &str| {
        format!(
            "ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nRUN echo {} > /first-step\nRUN echo {last} > /last-step\n",
            f.namespace
        )
    };
    f.write("images/leaf/Dockerfile", &leaf("one"));
    f.test().arg("push").run();
    let first = format!("RUN echo {} > /first-step", f.namespace);
    let record: Value = serde_json::from_str(&f.read("artifacts/build/leaf.json")).unwrap();
    assert!(
        steps(&record).contains(&(first.clone(), false)),
        "{:?}",
        steps(&record)
    );

    // A fresh runner: another engine, a checkout with no state, artifacts or logs.
    for dir in [".dorun", "artifacts", "logs", "manifests"] {
        std::fs::remove_dir_all(f.join(dir)).unwrap();
    }
    f.write("images/leaf/Dockerfile", &leaf("two"));
    let out = f
        .test()
        .args(&["-v", "build"])
        .env("DOCKER_HOST", &fresh.host)
        .run();
    assert_eq!(f.ran("build:"), ["build:leaf"], "{}", out.stderr);
    let record: Value = serde_json::from_str(&f.read("artifacts/build/leaf.json")).unwrap();
    let steps = steps(&record);
    assert!(
        steps.contains(&(first, true)),
        "the unchanged step came from the registry: {steps:?}\n{}",
        f.read("logs/build/leaf.log")
    );
    assert!(
        steps.contains(&("RUN echo two > /last-step".to_string(), false)),
        "{steps:?}"
    );
    let log = f.read("logs/build/leaf.log");
    let source = format!(
        "importing cache manifest from {}:stable",
        f.repo(&registry, "leaf")
    );
    assert!(log.contains(&source), "{log}");
    assert!(log.contains("CACHED"), "{log}");
}
