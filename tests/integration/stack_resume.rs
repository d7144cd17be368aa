//! A `dorun push` killed with SIGKILL at many points, then run again, writes the same lists as
//! one uninterrupted run (SPEC §6), against the real engine and registry.
use crate::stack_fixture::{docker_available, registry, StackFixture};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

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
        .flat_map(std::iter::Iterator::flatten)
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
    f.script("images/tests_common/test_pause", "sleep 0.3");

    f.write("pipeline.txt", "reference\n");
    f.test().arg("push").run();
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
        // Killed (128 + SIGKILL), or done before the k-th record (a whole push).
        let mut running = f
            .test()
            .arg("push")
            .status_one_of(&[0, 128 + libc::SIGKILL])
            .spawn();
        // Generous: on an engine busy with other builds a cached BuildKit build of base has
        // taken 25-55 s.
        let reached = running.wait_until(
            &format!("record {k} of the push"),
            240,
            Duration::from_millis(2),
            |_| records_since(&f.path(), since) >= k,
        );
        if reached {
            running.signal(libc::SIGKILL);
        }
        let killed = running.wait().status != 0;
        hit += usize::from(killed);

        f.test().arg("push").run();
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
