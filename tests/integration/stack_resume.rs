//! A `dorun push` killed with SIGKILL at many points, then run again, writes the same lists as
//! one uninterrupted run (SPEC §6), against the real engine and registry.
use crate::stack_fixture::{assert_exit, docker_available, registry, StackFixture};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const FAMILY: &[(&str, Option<&str>)] = &[
    ("base", None),
    ("left", Some("base")),
    ("right", Some("base")),
];

const LISTS: &[&str] = &[
    "IMAGES_CHANGED",
    "IMAGES_BUILT",
    "IMAGES_TEST_PASSED",
    "IMAGES_TEST_ERROR",
    "IMAGES_PUSHED",
];

/// Each list with what differs between two pipelines of the same stack (identities, digests)
/// blanked out.
fn lists(f: &StackFixture) -> BTreeMap<&'static str, Vec<String>> {
    let id = regex::Regex::new(r"-id-[0-9a-f]{12}").unwrap();
    let digest = regex::Regex::new(r"@sha256:[0-9a-f]{64}").unwrap();
    LISTS
        .iter()
        .map(|name| {
            let lines = f
                .list(name)
                .iter()
                .map(|l| digest.replace(&id.replace(l, "-id-X"), "@sha256:X").into())
                .collect();
            (*name, lines)
        })
        .collect()
}

/// Records (build, test, push) written since `since`: the progress of a running pipeline.
fn records_since(root: &Path, since: SystemTime) -> usize {
    ["build", "test", "push"]
        .iter()
        .filter_map(|d| std::fs::read_dir(root.join("artifacts").join(d)).ok())
        .flat_map(|entries| entries.flatten())
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .count()
}

#[test]
fn a_push_killed_at_any_point_then_resumed_writes_the_lists_of_one_uninterrupted_run() {
    if !docker_available() {
        return;
    }
    // A test script gives each test phase some length, so kill points land inside it.
    let f = StackFixture::new(FAMILY, &registry(), "");
    f.write("images/tests_common/test_pause", "#!/bin/sh\nsleep 0.3\n");
    std::fs::set_permissions(
        f.path().join("images/tests_common/test_pause"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    f.write("pipeline.txt", "reference\n");
    assert_exit(&f.dorun(&["push"]), 0);
    let expected = lists(&f);
    assert_eq!(expected["IMAGES_CHANGED"], ["base", "left", "right"]);
    assert_eq!(expected["IMAGES_TEST_PASSED"].len(), 3);
    assert_eq!(expected["IMAGES_PUSHED"].len(), 9, "{expected:?}");

    // Kill after the k-th record (3 builds, 3 test results, 3 pushes), each time on a new
    // identity (pipeline.txt is part of every image's), so every attempt is a whole pipeline.
    let mut hit = 0;
    for k in 1..=8 {
        f.write("pipeline.txt", &format!("kill after record {k}\n"));
        let since = SystemTime::now() - Duration::from_millis(5);
        let mut child = Command::new(env!("CARGO_BIN_EXE_dorun"))
            .args(["--progress", "plain", "push"])
            .current_dir(f.path())
            .env("NO_COLOR", "1")
            .env_remove("DORUN_REGISTRY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let killed = loop {
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            if records_since(f.path(), since) >= k {
                child.kill().unwrap();
                break true;
            }
            assert!(Instant::now() < deadline, "push did not reach record {k}");
            std::thread::sleep(Duration::from_millis(2));
        };
        child.wait().unwrap();
        hit += usize::from(killed);

        let out = f.dorun(&["push"]);
        assert_exit(&out, 0);
        assert_eq!(
            lists(&f),
            expected,
            "after a kill at record {k} (killed: {killed})"
        );
        // The resumed run removed the test containers the killed one left behind.
        for image in ["base", "left", "right"] {
            let left = crate::stack_test::leftovers(&f, &registry(), image);
            assert!(left.is_empty(), "after a kill at record {k}: {left:?} left");
        }
    }
    assert!(hit >= 5, "only {hit} of 8 kill points hit a running push");
}
