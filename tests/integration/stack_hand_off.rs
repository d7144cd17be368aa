//! `hand-off = "registry"` across three "runners" (issue 12): `dorun build`, `dorun test` and
//! `dorun push` each on an engine without the stack's images and a checkout without state,
//! artifacts or logs — the test phase on a second, empty engine (`second_engine`), the push
//! phase on the main engine after every image of the stack was removed from it.
use crate::second_engine::SecondEngine;
use crate::stack_fixture::{docker_available, image_tags, registry, StackFixture};
use dorun_docker::{referrers_tag, Registry};

const PAIR: &[(&str, Option<&str>)] = &[("base", None), ("leaf", Some("base"))];

/// A new CI job: no state, artifacts, logs or manifests, and no image of the stack in the main
/// engine (only this test's images: the builder cache is shared with other tests).
fn fresh_runner(f: &StackFixture) {
    for dir in [".dorun", "artifacts", "logs", "manifests"] {
        let _ = std::fs::remove_dir_all(f.join(dir));
    }
    let engine = dorun_docker::Engine::connect().unwrap();
    engine.remove_images_matching(&f.namespace).unwrap();
}

/// `dorun <args>` with the registry hand-off, on the main engine or on `host`.
fn phase(f: &StackFixture, args: &[&str], host: Option<&str>) -> crate::harness::Test {
    let mut t = f.test().args(args).env("DORUN_HAND_OFF", "registry");
    if let Some(host) = host {
        t = t.env("DOCKER_HOST", host);
    }
    t
}

/// The digest of `image:tag` in repository `<namespace><suffix>/<image>`.
fn digest_of(
    reg: &Registry,
    f: &StackFixture,
    suffix: &str,
    image: &str,
    tag: &str,
) -> Option<String> {
    reg.manifest_digest(&format!("{}{suffix}/{image}", f.namespace), tag)
        .unwrap()
}

/// The content tag (`t1-id-…`) `image` was staged under: the staging repository's one image
/// tag.
fn staged_tag(reg: &Registry, f: &StackFixture, image: &str) -> String {
    let tags = image_tags(reg, &format!("{}-staging/{image}", f.namespace));
    let staged: Vec<&String> = tags.iter().collect();
    assert_eq!(staged.len(), 1, "{tags:?}");
    staged[0].clone()
}

fn release_tags(reg: &Registry, f: &StackFixture, image: &str) -> Vec<String> {
    image_tags(reg, &format!("{}/{image}", f.namespace))
}

#[test]
fn build_test_and_push_on_three_fresh_runners_build_once_test_once_and_push_the_tested_digests() {
    if !docker_available() {
        return;
    }
    let Some(second) = SecondEngine::start() else {
        return;
    };
    let host = registry();
    let reg = Registry::new(&host, None);
    let f = StackFixture::new(PAIR, &host, "");
    f.script("images/base/test/test_busybox", "busybox true");
    f.script("images/leaf/test/test_name", "grep -x leaf /image-name");

    // Runner 1 builds and stages.
    phase(&f, &["build"], None).run();
    assert_eq!(f.ran("build:"), ["build:base", "build:leaf"]);
    let tags: Vec<String> = ["base", "leaf"]
        .iter()
        .map(|i| staged_tag(&reg, &f, i))
        .collect();
    let staged: Vec<String> = ["base", "leaf"]
        .iter()
        .zip(&tags)
        .map(|(i, t)| digest_of(&reg, &f, "-staging", i, t).expect("staged after the build"))
        .collect();
    assert!(
        release_tags(&reg, &f, "base").is_empty(),
        "nothing released by a build"
    );
    assert_eq!(f.list("IMAGES_CHANGED"), ["base", "leaf"]);

    // Runner 2, an empty engine: nothing is rebuilt, the staged images are tested.
    fresh_runner(&f);
    let out = phase(&f, &["test"], Some(&second.host)).run();
    assert!(
        f.ran("build:").is_empty(),
        "{:?}\n{}",
        f.ran("build:"),
        out.stderr
    );
    for image in ["base", "leaf"] {
        assert_eq!(
            f.run_entry(&format!("build:{image}"))["status"],
            "up-to-date"
        );
    }
    assert_eq!(f.ran("test:"), ["test:base", "test:leaf"]);
    assert_eq!(
        f.list("IMAGES_BUILT").len(),
        2,
        "staged images count as built"
    );
    assert_eq!(f.list("IMAGES_TEST_PASSED"), f.list("IMAGES_BUILT"));
    assert!(f.read("artifacts/junit.xml").contains("test_name"));
    for ((image, tag), digest) in ["base", "leaf"].iter().zip(&tags).zip(&staged) {
        // The test results travel with the image, beside its staged digest.
        let repo = format!("{}-staging/{image}", f.namespace);
        let results = reg
            .artifact(&repo, &referrers_tag(digest, "test"))
            .unwrap()
            .expect("test results beside the staged image");
        let results: serde_json::Value = serde_json::from_slice(&results).unwrap();
        assert_eq!(results["passed"], true, "{results:#}");
        assert!(results["image"].as_str().unwrap().ends_with(tag.as_str()));
        // So do its metrics, for the push job to store beside the released image.
        let metrics = reg
            .artifact(&repo, &referrers_tag(digest, "metrics"))
            .unwrap()
            .expect("metrics beside the staged image");
        let metrics: serde_json::Value = serde_json::from_slice(&metrics).unwrap();
        assert!(metrics["content_reference"]
            .as_str()
            .unwrap()
            .ends_with(tag.as_str()));
    }

    // Runner 3, empty again: no build, no test, and the release digests are the tested ones.
    fresh_runner(&f);
    let out = phase(&f, &["push"], None).run();
    assert!(f.ran("build:").is_empty(), "{:?}", f.ran("build:"));
    assert!(f.ran("test:").is_empty(), "tests ran again: {}", out.stderr);
    assert_eq!(f.ran("push:"), ["push:base", "push:leaf"]);
    for ((image, tag), digest) in ["base", "leaf"].iter().zip(&tags).zip(&staged) {
        let mut released = release_tags(&reg, &f, image);
        released.sort();
        assert_eq!(released.len(), 3, "{released:?}");
        for t in &released {
            assert_eq!(
                digest_of(&reg, &f, "", image, t).as_ref(),
                Some(digest),
                "{image}:{t} is not the tested digest"
            );
        }
        assert!(released.contains(tag) && released.contains(&"stable".to_string()));
        // The push job had no metrics of its own: it stored the test job's beside the release.
        let metrics = reg
            .artifact(
                &format!("{}/{image}", f.namespace),
                &referrers_tag(digest, "metrics"),
            )
            .unwrap()
            .expect("metrics beside the released image");
        let metrics: serde_json::Value = serde_json::from_slice(&metrics).unwrap();
        assert!(metrics["numbers"]["size_bytes"].as_i64().unwrap() > 0);
    }
    assert_eq!(f.list("IMAGES_PUSHED").len(), 6);
    assert_eq!(f.list("IMAGES_TEST_PASSED"), f.list("IMAGES_BUILT"));
    let log = f.read("logs/push/leaf.log");
    assert!(log.contains("by blob mount"), "{log}");
}

#[test]
fn a_failing_test_in_the_test_job_makes_the_push_job_refuse_and_release_nothing() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let reg = Registry::new(&host, None);
    let f = StackFixture::new(PAIR, &host, "");
    f.script("images/base/test/test_busybox", "busybox true");
    f.script(
        "images/leaf/test/test_fails",
        "echo failing on purpose; exit 1",
    );

    phase(&f, &["build"], None).run();
    fresh_runner(&f);
    phase(&f, &["test"], None).status(1).run();
    assert_eq!(f.list("IMAGES_TEST_ERROR").len(), 1);

    // The push job, without the artifacts directory: the gate reads the handed-off results.
    fresh_runner(&f);
    let out = phase(&f, &["--only", "push:*"], None).status(1).run();
    let text = out.all();
    assert!(text.contains("push refused"), "{text}");
    assert!(text.contains("(tests failed)"), "{text}");
    for image in ["base", "leaf"] {
        assert!(
            release_tags(&reg, &f, image).is_empty(),
            "{image} was released"
        );
    }

    // The whole push pipeline refuses too.
    fresh_runner(&f);
    phase(&f, &["push"], None).status(1).run();
    for image in ["base", "leaf"] {
        assert!(
            release_tags(&reg, &f, image).is_empty(),
            "{image} was released"
        );
    }
    assert!(f.list("IMAGES_PUSHED").is_empty());
}

#[test]
fn an_image_built_before_the_hand_off_was_set_is_staged_by_the_next_build_without_rebuilding() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let reg = Registry::new(&host, None);
    let f = StackFixture::new(&[("solo", None)], &host, "");
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:solo"]);
    let staging = format!("{}-staging/solo", f.namespace);
    assert!(reg.tags(&staging).unwrap().is_empty());

    // The engine holds the image, but no later job could find it: the build stages it.
    let out = phase(&f, &["build"], None).run();
    assert_eq!(f.ran("build:"), ["build:solo"], "{}", out.stderr);
    let log = f.read("logs/build/solo.log");
    assert!(
        log.contains("is already built") && log.contains("staged "),
        "{log}"
    );
    let tag = staged_tag(&reg, &f, "solo");
    assert!(tag.contains("-id-"), "{tag}");

    phase(&f, &["build"], None).run();
    assert!(f.ran("build:").is_empty(), "{:?}", f.ran("build:"));
}
