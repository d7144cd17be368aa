//! images-manifest and images-push against the real engine and real `docker-registry`s on
//! loopback: tags checked through the registry's HTTP API, the test gate, up-to-date pushes,
//! fresh runners; `private` has the tests that need a registry of their own.
mod local_registry;
mod private;

use crate::harness::Project;
use crate::stack_fixture::{docker_available, git, image_tags, registry, StackFixture};
use dorun_docker::Registry;
use snapbox::str;

const PAIR: &[(&str, Option<&str>)] = &[("base", None), ("child", Some("base"))];

const MANIFEST_COMMANDS: &str = r#"
[manifests.name]
description = "Image name"
command = "cat /image-name"

[manifests.broken]
description = "A command that fails"
command = "echo to-stdout; echo to-stderr >&2; exit 3"
"#;

/// Makes the project a git checkout with everything committed; returns the short sha that
/// human tags carry.
fn commit_all(f: &StackFixture) -> String {
    f.append(".gitignore", ".dorun/\nartifacts/\nlogs/\nmanifests/\n");
    git(f, &["init", "-q"]);
    git(f, &["add", "-A"]);
    git(f, &["commit", "-q", "-m", "the stack"]);
    git(f, &["rev-parse", "--short=7", "HEAD"])
}

/// Declares manifest commands for one image (the fixture writes `[images.X]` itself).
fn use_manifests(f: &StackFixture, image: &str, names: &[&str]) {
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let toml = f.read("tasks.toml").replace(
        &format!("[images.{image}]\n"),
        &format!("[images.{image}]\nmanifests = [{list}]\n"),
    );
    f.write("tasks.toml", &toml);
}

/// The tags of `image` in the registry, sorted, through the registry's HTTP API.
fn tags(reg: &Registry, f: &StackFixture, image: &str) -> Vec<String> {
    let mut tags = image_tags(reg, &format!("{}/{image}", f.namespace));
    tags.sort();
    tags
}

/// Checks the content, human and stable tags of `image` exist with one digest, and returns the
/// IMAGES_PUSHED lines they should produce (content, human, stable).
fn check_pushed(
    reg: &Registry,
    host: &str,
    f: &StackFixture,
    image: &str,
    human: &str,
) -> Vec<String> {
    let repo = format!("{}/{image}", f.namespace);
    let tags = tags(reg, f, image);
    assert_eq!(tags.len(), 3, "{image}: {tags:?}");
    let content = tags
        .iter()
        .find(|t| t.starts_with("t1-id-"))
        .unwrap_or_else(|| panic!("{image}: no content tag in {tags:?}"));
    let order = [content.as_str(), human, "stable"];
    let digest = reg.manifest_digest(&repo, content).unwrap().unwrap();
    assert!(digest.starts_with("sha256:"), "{digest}");
    order
        .iter()
        .map(|tag| {
            let d = reg.manifest_digest(&repo, tag).unwrap();
            assert_eq!(d.as_deref(), Some(digest.as_str()), "{image}:{tag}");
            format!("{}:{tag}@{digest}", f.repo(host, image))
        })
        .collect()
}

#[test]
fn push_sends_content_human_and_stable_tags_with_manifests_then_is_up_to_date() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let f = StackFixture::new(PAIR, &host, MANIFEST_COMMANDS);
    use_manifests(&f, "base", &["name", "broken"]);
    let sha = commit_all(&f);
    let human = format!("t1-{sha}");
    f.redact("[HUMAN_TAG]", &human);

    f.test().arg("push").run();
    let reg = Registry::new(&host, None);
    let mut expected = check_pushed(&reg, &host, &f, "base", &human);
    expected.extend(check_pushed(&reg, &host, &f, "child", &human));
    assert_eq!(
        f.list("IMAGES_PUSHED"),
        expected,
        "build order, three tags each"
    );
    f.file_eq(
        "artifacts/IMAGES_PUSHED",
        str![[r#"
[REGISTRY]/[NAMESPACE]/base:t1-id-[ID]@[DIGEST]
[REGISTRY]/[NAMESPACE]/base:[HUMAN_TAG]@[DIGEST]
[REGISTRY]/[NAMESPACE]/base:stable@[DIGEST]
[REGISTRY]/[NAMESPACE]/child:t1-id-[ID]@[DIGEST]
[REGISTRY]/[NAMESPACE]/child:[HUMAN_TAG]@[DIGEST]
[REGISTRY]/[NAMESPACE]/child:stable@[DIGEST]

"#]],
    );
    let base_digest = expected[0].rsplit_once('@').unwrap().1.to_string();

    // The manifest page: build info with the digest, layers, each command (a failing one shown).
    let page = f.read(&format!("manifests/base-{human}.md"));
    for needle in [
        format!("| Reference | `{}:{human}` |", f.repo(&host, "base")),
        format!("| Digest | `{base_digest}` |"),
        "| # | Created by | Size | Cumulative | Age |".to_string(),
        "## Image name (`name`)".to_string(),
        "```text\nbase\n```".to_string(),
        "**failed** (exit 3)".to_string(),
        "to-stdout".to_string(),
        "to-stderr".to_string(),
        "the stack".to_string(),
    ] {
        assert!(page.contains(&needle), "missing {needle:?} in\n{page}");
    }
    let stack = f.read("manifests/STACK.md");
    let child_row = stack
        .lines()
        .find(|l| l.starts_with("| [child]"))
        .unwrap_or_else(|| panic!("{stack}"));
    assert!(child_row.contains("| base |"), "{child_row}");
    assert!(
        child_row.contains(expected[3].rsplit_once('@').unwrap().1),
        "{child_row}"
    );
    assert!(stack.contains(&base_digest), "{stack}");

    // Second run: the registry already has everything.
    let pushed = f.read("artifacts/IMAGES_PUSHED");
    f.test().arg("push").run();
    assert!(f.ran("push:").is_empty(), "{:?}", f.ran("push:"));
    assert!(f.ran("manifest:").is_empty(), "{:?}", f.ran("manifest:"));
    assert_eq!(f.read("artifacts/IMAGES_PUSHED"), pushed);
}

#[test]
fn a_failing_test_blocks_every_push_and_the_gate_refuses_untested_images() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let f = StackFixture::new(PAIR, &host, "");
    let script = "images/child/test/test_fails";
    f.write_executable(script, "#!/bin/sh\necho failing on purpose\nexit 1\n");
    let reg = Registry::new(&host, None);
    let nothing_pushed = |f: &StackFixture| {
        assert!(
            tags(&reg, f, "base").is_empty(),
            "{:?}",
            tags(&reg, f, "base")
        );
        assert!(tags(&reg, f, "child").is_empty());
        assert!(f.list("IMAGES_PUSHED").is_empty());
    };

    // In the pipeline: a push waits for every test, so base (which passed) is not pushed either;
    // the skip names the test that failed (push:X waits for the group `test`, not each test).
    let out = f.test().args(&["-k", "push"]).status(1).run();
    assert!(f.ran("push:").is_empty(), "{:?}", f.ran("push:"));
    let text = out.all();
    for push in ["push:base", "push:child"] {
        let skipped = format!("{push}: dependency test:child failed");
        assert!(text.contains(&skipped), "{skipped:?} in {text}");
    }
    nothing_pushed(&f);

    // Tests and pushes selected by name (--only, no group named): the pushes still wait for the
    // selected tests and are skipped, not started beside them and refused by the gate.
    let out = f
        .test()
        .args(&["-k", "--only", "test:*", "push:*"])
        .status(1)
        .run();
    assert!(f.ran("push:").is_empty(), "{:?}", f.ran("push:"));
    let text = out.all();
    assert!(!text.contains("push refused"), "{text}");
    assert!(
        text.contains("push:base: dependency test:child failed"),
        "{text}"
    );
    nothing_pushed(&f);

    // Pushing alone (--only): the gate reads IMAGES_TEST_PASSED and refuses, naming the image.
    let out = f.test().args(&["--only", "push:*"]).status(1).run();
    let text = out.all();
    assert!(text.contains("push refused"), "{text}");
    let child = f.list("IMAGES_BUILT")[1].clone();
    assert!(text.contains(&format!("{child} (tests failed)")), "{text}");
    nothing_pushed(&f);

    // Fixed: everything goes through.
    std::fs::remove_file(f.path().join(script)).unwrap();
    f.test().arg("push").run();
    assert_eq!(f.list("IMAGES_PUSHED").len(), 6);
}

#[test]
fn a_fresh_clone_after_a_push_finds_nothing_changed_then_only_the_changed_leaf() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let family = [
        ("base", None),
        ("left", Some("base")),
        ("right", Some("base")),
    ];
    let f = StackFixture::new(&family, &host, "");
    commit_all(&f);
    f.test().arg("push").run();

    // A new runner: a clone (no .dorun/, artifacts/), and no local images of the stack.
    let clone = Project::new();
    git(&f, &["clone", "-q", ".", clone.path().to_str().unwrap()]);
    assert!(!clone.exists(".dorun") && !clone.exists("artifacts"));
    dorun_docker::Engine::connect()
        .unwrap()
        .remove_images_matching(&f.namespace)
        .unwrap();
    clone.test().arg("changed").run();
    assert_eq!(clone.list("IMAGES_CHANGED"), Vec::<String>::new());
    assert!(clone.exists("artifacts/IMAGES_CHANGED"));

    // One leaf changes: only it is listed, rebuilt (on its parent pulled from the registry)
    // and pushed.
    clone.append("images/right/Dockerfile", "RUN echo changed > /changed\n");
    clone.test().arg("changed").run();
    assert_eq!(clone.list("IMAGES_CHANGED"), ["right"]);
    clone.test().arg("push").run();
    let pushed = clone.list("IMAGES_PUSHED");
    assert_eq!(pushed.len(), 3, "{pushed:?}");
    assert!(
        pushed
            .iter()
            .all(|l| l.starts_with(&f.repo(&host, "right"))),
        "{pushed:?}"
    );
}

#[test]
fn without_a_registry_push_fails_with_a_clear_message() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    let out = f.test().arg("push").status(1).run();
    assert!(
        out.all().contains("no registry configured"),
        "{}",
        out.all()
    );
    assert!(f.list("IMAGES_PUSHED").is_empty());
}

/// Credentials are read once, for reading the registry and pushing to it alike: a setup that
/// cannot be read stops the run before any task (exit 3), naming the problem, instead of the
/// registry being read anonymously and only the push failing later.
#[test]
fn unreadable_credentials_stop_the_run_before_any_task() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let f = StackFixture::new(&[("base", None)], &host, "");
    let out = f
        .test()
        .arg("changed")
        .env("DORUN_REGISTRY_USER", "someone")
        .status(3)
        .run();
    let text = out.all();
    assert!(
        text.contains(&format!("cannot read credentials for {host}"))
            && text.contains("DORUN_REGISTRY_PASSWORD is not"),
        "{text}"
    );
    assert!(f.list("IMAGES_CHANGED").is_empty());
}

/// Issue 13 (tags everywhere): after a push, a new commit that changes no image, run on a fresh
/// runner whose engine holds none of the stack's images, gives every image the new commit's
/// human tag (and the stable tag) in the registry by manifest copy: nothing is pulled or built
/// and every digest stays the published one.
#[test]
fn a_new_commit_on_a_fresh_runner_tags_every_image_in_the_registry_without_pulling_or_building() {
    if !docker_available() {
        return;
    }
    let host = registry();
    let f = StackFixture::new(PAIR, &host, "");
    let first = commit_all(&f);
    f.test().arg("push").run();
    let reg = Registry::new(&host, None);
    let published: Vec<Vec<String>> = ["base", "child"]
        .iter()
        .map(|image| check_pushed(&reg, &host, &f, image, &format!("t1-{first}")))
        .collect();

    // A new commit that changes no image, on a fresh runner: a clone, and an engine without
    // this test's images.
    f.write("NOTES.txt", "not part of any image\n");
    git(&f, &["add", "NOTES.txt"]);
    git(&f, &["commit", "-q", "-m", "notes"]);
    let second = git(&f, &["rev-parse", "--short=7", "HEAD"]);
    assert_ne!(first, second);
    let clone = Project::new();
    git(&f, &["clone", "-q", ".", clone.path().to_str().unwrap()]);
    let engine = dorun_docker::Engine::connect().unwrap();
    engine.remove_images_matching(&f.namespace).unwrap();
    assert!(engine.references_matching(&f.namespace).unwrap().is_empty());

    clone.test().arg("push").run();
    // No build and no pull: nothing ran but the pushes, and the engine still holds nothing.
    assert!(clone.ran("build:").is_empty(), "{:?}", clone.ran("build:"));
    assert!(clone.list("IMAGES_BUILT").is_empty());
    assert_eq!(clone.ran("push:"), ["push:base", "push:child"]);
    assert!(
        engine.references_matching(&f.namespace).unwrap().is_empty(),
        "the push pulled: {:?}",
        engine.references_matching(&f.namespace).unwrap()
    );
    // Every image now carries both commits' human tags, all on the published digest.
    let mut expected = Vec::new();
    for (image, before) in ["base", "child"].iter().zip(&published) {
        let digest = before[0].rsplit_once('@').unwrap().1;
        let repo = format!("{}/{image}", f.namespace);
        for tag in [
            format!("t1-{first}"),
            format!("t1-{second}"),
            "stable".into(),
        ] {
            assert_eq!(
                reg.manifest_digest(&repo, &tag).unwrap().as_deref(),
                Some(digest),
                "{image}:{tag}"
            );
        }
        assert_eq!(
            tags(&reg, &f, image).len(),
            4,
            "{:?}",
            tags(&reg, &f, image)
        );
        let content = before[0].split_once('@').unwrap().0;
        expected.push(format!("{content}@{digest}"));
        expected.push(format!("{}:t1-{second}@{digest}", f.repo(&host, image)));
        expected.push(format!("{}:stable@{digest}", f.repo(&host, image)));
    }
    // IMAGES_PUSHED lists each tag written.
    assert_eq!(clone.list("IMAGES_PUSHED"), expected);
    let log = clone.read("logs/push/base.log");
    assert!(log.contains("by manifest copy"), "{log}");

    // Done: a second push on that runner writes nothing.
    clone.test().arg("push").run();
    assert!(clone.ran("push:").is_empty(), "{:?}", clone.ran("push:"));
}
