//! Image tasks act on the decision `plan` shows (issue 10 point 1): along a pipeline's life
//! (first run, no-op, a new commit that only moves human tags, an edited image, -B, a push,
//! a commit after the push) `plan --json` predicts exactly which subtasks the run then runs,
//! and what a test task's decision found (its passed results still valid) reaches `execute`.
use crate::stack_fixture::{docker_available, git as git_in, registry, StackFixture};
use serde_json::Value;
use std::collections::BTreeMap;

const PAIR: &[(&str, Option<&str>)] = &[("base", None), ("child", Some("base"))];

fn git(f: &StackFixture, args: &[&str]) {
    git_in(f, args);
}

/// Runs `plan --json FLAGS TASKS`, then `dorun FLAGS TASKS`, and checks that exactly the
/// subtasks plan said would run ran. Returns those that ran.
#[track_caller]
fn plan_matches_run(f: &StackFixture, flags: &[&str], tasks: &[&str]) -> Vec<String> {
    let plan_args: Vec<&str> = ["plan", "--json"]
        .iter()
        .chain(flags)
        .chain(tasks)
        .copied()
        .collect();
    let out = f.test().args(&plan_args).run();
    let plan: Value = serde_json::from_str(&out.stdout).expect("plan --json is JSON");
    let predicted: BTreeMap<String, bool> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["run"] == true))
        .collect();
    let run_args: Vec<&str> = flags.iter().chain(tasks).copied().collect();
    f.test().args(&run_args).run();
    let run: Value = serde_json::from_str(&f.read("artifacts/run.json")).unwrap();
    let status: BTreeMap<String, String> = run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let name = t["name"].as_str().unwrap().to_string();
            (name, t["status"].as_str().unwrap().to_string())
        })
        .collect();
    let wrong: Vec<String> = predicted
        .iter()
        .filter(|(name, &will_run)| will_run != (status[name.as_str()] == "ran"))
        .map(|(name, will_run)| {
            format!(
                "{name}: plan said run={will_run}, the run says {}",
                status[name.as_str()]
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "dorun {run_args:?}: plan and run disagree:\n  {}\n--- plan\n{}\n--- run.json\n{}",
        wrong.join("\n  "),
        serde_json::to_string_pretty(&plan).unwrap(),
        f.read("artifacts/run.json"),
    );
    predicted
        .into_iter()
        .filter(|(_, run)| *run)
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn plan_predicts_every_image_subtask_along_a_pipeline_and_passed_tests_are_reused() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(PAIR, &reg, "");
    f.script("images/base/test/test_ok", "true");
    f.append(".gitignore", ".dorun/\nartifacts/\nlogs/\nmanifests/\n");
    git(&f, &["init", "-q"]);
    git(&f, &["add", "-A"]);
    git(&f, &["commit", "-qm", "one"]);

    let ran = plan_matches_run(&f, &[], &["test"]);
    assert!(ran.contains(&"test:child".to_string()), "{ran:?}");
    assert_eq!(plan_matches_run(&f, &[], &["test"]), ["changed"]);

    // A new commit moves the human tags: builds only retag, and the tests, which passed on
    // these identities, are not run again; their run only writes the new references into
    // the lists (what the decision carried to execute).
    git(&f, &["commit", "-q", "--allow-empty", "-m", "two"]);
    let ran = plan_matches_run(&f, &[], &["test"]);
    assert_eq!(
        ran,
        [
            "build:base",
            "build:child",
            "changed",
            "test:base",
            "test:child"
        ]
    );
    for v in ["base", "child"] {
        let log = f.read(&format!("logs/test/{v}.log"));
        assert!(log.contains("rewriting the lists only"), "{v}: {log}");
    }
    let passed = f.list("IMAGES_TEST_PASSED");
    assert_eq!(
        passed,
        f.list("IMAGES_BUILT"),
        "the lists name this commit's tags"
    );

    // An edited image reruns its build and tests; -B really runs the tests again.
    f.write("images/child/extra.txt", "edited\n");
    let ran = plan_matches_run(&f, &[], &["test"]);
    assert_eq!(ran, ["build:child", "changed", "test:child"]);
    assert!(!f
        .read("logs/test/child.log")
        .contains("rewriting the lists only"));
    assert_eq!(
        plan_matches_run(&f, &["-B"], &["test:base"]),
        ["changed", "test:base"]
    );
    assert!(!f
        .read("logs/test/base.log")
        .contains("rewriting the lists only"));

    // The whole pipeline, then a commit after the push: published images are up to date.
    git(&f, &["add", "-A"]);
    git(&f, &["commit", "-qm", "three"]);
    let ran = plan_matches_run(&f, &[], &["push"]);
    assert!(ran.contains(&"push:child".to_string()), "{ran:?}");
    git(&f, &["commit", "-q", "--allow-empty", "-m", "four"]);
    plan_matches_run(&f, &[], &["push"]);
    assert_eq!(plan_matches_run(&f, &[], &["push"]), ["changed"]);
}
