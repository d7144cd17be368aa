//! What a run asks the registry about a stack it saw pushed (`[stack] published-memory`), and
//! about a namespace where nothing is pushed yet (the catalog), counted through the registry's
//! counting door by request line.
use crate::registry_counter::RegistryCounter;
use crate::stack_fixture::{docker_available, registry, StackFixture};
use std::io::{Read, Write};

/// The HEADs of manifests among `lines` (each a question about one tag).
fn heads(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.starts_with("HEAD /v2/") && l.contains("/manifests/"))
        .count()
}

/// The request lines `run` sent through `door`.
fn asked(door: &RegistryCounter, run: impl FnOnce()) -> Vec<String> {
    let before = door.request_lines().len();
    run();
    door.request_lines()[before..].to_vec()
}

#[test]
fn a_later_run_takes_the_pushed_content_tags_from_memory_and_off_asks_each() {
    if !docker_available() {
        return;
    }
    let door = RegistryCounter::start(&registry());
    let f = StackFixture::new(
        &[
            ("base", None),
            ("left", Some("base")),
            ("right", Some("base")),
        ],
        &door.host(),
        "",
    );
    f.test().args(&["-j", "2", "push"]).run();
    assert_eq!(
        f.list("IMAGES_PUSHED").len(),
        9,
        "three tags of three images"
    );
    // Each content tag this machine pushed is remembered: `changed` asks about none of them.
    let remembered = asked(&door, || {
        f.test().arg("changed").run();
    });
    assert_eq!(heads(&remembered), 0, "{remembered:#?}");
    let changed = f.list("IMAGES_CHANGED");
    // Off: every content tag is asked again, and the answer is the same.
    let off = asked(&door, || {
        f.test()
            .arg("changed")
            .env("DORUN_PUBLISHED_MEMORY", "off")
            .run();
    });
    assert_eq!(heads(&off), 3, "{off:#?}");
    assert_eq!(f.list("IMAGES_CHANGED"), changed);
}

#[test]
fn an_image_deleted_from_the_registry_is_forgotten_when_its_push_finds_it_gone() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None), ("leaf", Some("base"))], &reg, "");
    f.test().args(&["-j", "2", "push"]).run();
    // Someone deletes leaf from the registry (every tag: they name one manifest) and the
    // machine's engine loses it too.
    let repo = format!("{}/leaf", f.namespace);
    let client = dorun_docker::Registry::new(&reg, None);
    let human = f
        .list("IMAGES_BUILT")
        .into_iter()
        .find(|r| r.contains("/leaf:"))
        .unwrap();
    let tag = human.rsplit(':').next().unwrap();
    let digest = client.manifest_digest(&repo, tag).unwrap().unwrap();
    delete_manifest(&reg, &repo, &digest);
    let engine = dorun_docker::Engine::connect().unwrap();
    engine.remove_images_matching(&repo).unwrap();
    // A later pipeline on this machine (this one's changed set gone: every image it pushed
    // counts as published now). Remembered as published, leaf is not built again; its push
    // finds it gone and forgets it.
    std::fs::remove_file(f.join(".dorun/pipeline")).unwrap();
    f.test()
        .arg("push")
        .status(1)
        .stderr_contains("is not in the local engine")
        .run();
    // The next run asks the registry, finds leaf changed, and builds and pushes it again.
    f.test().arg("push").run();
    assert!(f.list("IMAGES_CHANGED").contains(&"leaf".to_string()));
    assert!(
        client.manifest_digest(&repo, tag).unwrap().is_some(),
        "pushed again"
    );
}

#[test]
fn a_stack_with_nothing_pushed_is_ruled_out_by_the_catalog_not_tag_by_tag() {
    if !docker_available() {
        return;
    }
    let door = RegistryCounter::start(&registry());
    let images: Vec<String> = (0..70).map(|i| format!("i{i}")).collect();
    let mut decls = vec![("base", None)];
    decls.extend(images.iter().map(|i| (i.as_str(), Some("base"))));
    let f = StackFixture::new(&decls, &door.host(), "");
    let cold = asked(&door, || {
        f.test()
            .args(&["plan", "build"])
            .stdout_contains("run   build:i69")
            .run();
    });
    assert_eq!(heads(&cold), 0, "{cold:#?}");
    assert!(
        cold.iter().any(|l| l.starts_with("GET /v2/_catalog?")),
        "{cold:#?}"
    );
    // Once base's repository exists (its commit tag pushed by hand), the catalog lists it and
    // only base's content tag is asked about by `changed`, which needs every answer.
    f.test().arg("build:base").run();
    let human = f.list("IMAGES_BUILT").pop().unwrap();
    let engine = dorun_docker::Engine::connect().unwrap();
    engine.push_with(&human, None, &mut |_| {}).unwrap();
    let after = asked(&door, || {
        f.test().arg("changed").run();
    });
    assert_eq!(heads(&after), 1, "{after:#?}");
}

/// Deletes manifest `digest` of `repo` (the test registry accepts deletes).
fn delete_manifest(registry: &str, repo: &str, digest: &str) {
    let mut stream = std::net::TcpStream::connect(registry).unwrap();
    write!(
        stream,
        "DELETE /v2/{repo}/manifests/{digest} HTTP/1.1\r\nHost: {registry}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
}

/// The status `list --all` printed for `task` (`up-to-date`, `stale`, …).
fn listed_status(stdout: &str, task: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(task))
        .unwrap_or_else(|| panic!("no {task} in:\n{stdout}"));
    line.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn list_takes_the_pushed_human_and_stable_tags_from_memory_and_plan_push_asks_them() {
    if !docker_available() {
        return;
    }
    let door = RegistryCounter::start(&registry());
    let f = StackFixture::new(&[("base", None), ("leaf", Some("base"))], &door.host(), "");
    f.test().args(&["-j", "2", "push"]).run();

    // Right after the push, this machine remembers every tag it pushed: `list --all` asks
    // about none (content tags as before; the human and stable tags are read by list alone),
    // and says so on stderr, not on stdout.
    let mut stdout = String::new();
    let listed = asked(&door, || {
        let out = f
            .test()
            .args(&["list", "--all"])
            .stderr_contains("dorun: list took 4 human and stable tags from this machine's memory")
            .stdout_lacks("memory")
            .run();
        stdout = out.stdout;
    });
    assert_eq!(heads(&listed), 0, "{listed:#?}");
    assert_eq!(
        listed_status(&stdout, "push:leaf"),
        "up-to-date",
        "{stdout}"
    );

    // `plan push` stays authoritative: it asks about each human and stable tag (the content
    // tags are remembered, for every command).
    let planned = asked(&door, || {
        f.test()
            .args(&["plan", "push"])
            .stdout_contains("skip  push:leaf: up to date")
            .stderr_lacks("memory")
            .run();
    });
    assert_eq!(heads(&planned), 4, "{planned:#?}");

    // Off: `list` asks about every tag, content, human and stable, and says nothing.
    let off = asked(&door, || {
        f.test()
            .args(&["list", "--all"])
            .env("DORUN_PUBLISHED_MEMORY", "off")
            .stderr_lacks("memory")
            .run();
    });
    assert_eq!(heads(&off), 6, "{off:#?}");
}

#[test]
fn a_stable_tag_moved_elsewhere_is_seen_by_list_once_a_run_asked_the_registry() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None), ("leaf", Some("base"))], &reg, "");
    f.test().args(&["-j", "2", "push"]).run();
    // Another machine moves leaf's stable tag to base's image.
    let client = dorun_docker::Registry::new(&reg, None);
    let (base, leaf) = (
        format!("{}/base", f.namespace),
        format!("{}/leaf", f.namespace),
    );
    let manifest = client.manifest(&base, "stable").unwrap().unwrap();
    client
        .copy_manifest(&manifest, &base, &leaf, &["stable"])
        .unwrap();
    // `list` is a quick look from this machine's memory: it still shows what this machine
    // pushed (its note says where the answer came from)…
    let out = f
        .test()
        .args(&["list", "--all"])
        .stderr_contains("from this machine's memory")
        .run();
    assert_eq!(listed_status(&out.stdout, "push:leaf"), "up-to-date");
    // …until a run that asks the registry sees the move, which `list` then shows too.
    f.test()
        .args(&["plan", "push"])
        .stdout_contains("run   push:leaf:")
        .run();
    let out = f.test().args(&["list", "--all"]).run();
    assert_eq!(
        listed_status(&out.stdout, "push:leaf"),
        "stale",
        "{}",
        out.stdout
    );
    assert_eq!(listed_status(&out.stdout, "push:base"), "up-to-date");
}
