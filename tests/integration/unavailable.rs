//! A registry or engine that stops answering: every request has a deadline, and its expiry
//! is exit 3 naming what did not answer (issue 4); `list` and `info` answer from local state
//! when the registry is down (issue 9).
use crate::stack_fixture::{closed_port, docker_available, StackFixture};
use crate::stalling::Stalling;
use snapbox::str;
use std::time::Duration;

/// A hang must fail the test, not stall the suite.
const LIMIT: Duration = Duration::from_secs(40);

#[test]
fn a_registry_that_never_answers_a_manifest_request_exits_3_naming_it() {
    if !docker_available() {
        return;
    }
    let registry = Stalling::registry();
    let f = StackFixture::new(
        &[("base", None), ("child", Some("base"))],
        &registry.host(),
        "",
    );
    for args in [&["changed"][..], &["plan", "build"], &["build"]] {
        let out = f
            .test()
            .args(args)
            .env("DORUN_REGISTRY_TIMEOUT", "2s")
            .within(LIMIT)
            .status(3)
            .run();
        let all = out.all();
        assert!(
            all.contains(&format!(
                "registry {} did not answer HEAD /v2/",
                registry.host()
            )),
            "{args:?}\n{all}"
        );
        assert!(all.contains("within 2s"), "{all}");
        // One deadline, not one per image: the second question fails at once.
        assert!(
            out.elapsed < Duration::from_secs(15),
            "{args:?} took {:?}",
            out.elapsed
        );
    }
    // Nothing was recorded as done.
    assert!(f.list("IMAGES_CHANGED").is_empty());
    let out = f
        .test()
        .arg("changed")
        .env("DORUN_REGISTRY_TIMEOUT", "soon")
        .within(LIMIT)
        .status(2)
        .run();
    assert!(
        out.all()
            .contains("DORUN_REGISTRY_TIMEOUT=soon is not a duration"),
        "{}",
        out.all()
    );
}

#[test]
fn a_registry_that_fails_every_manifest_request_exits_3_naming_it() {
    if !docker_available() {
        return;
    }
    // Answers the API check, then 500 to everything: a broken registry, not a missing image.
    let registry = Stalling::start(|_, path| {
        let api = (
            "Docker-Distribution-API-Version",
            "registry/2.0".to_string(),
        );
        if path == "/v2/" || path == "/v2" {
            Some((200, vec![api], String::new()))
        } else {
            Some((500, vec![api], "{}".to_string()))
        }
    });
    let f = StackFixture::new(&[("base", None)], &registry.host(), "");
    for args in [&["changed"][..], &["plan", "build"], &["build"]] {
        let out = f.test().args(args).within(LIMIT).status(3).run();
        let all = out.all();
        assert!(
            all.contains(&format!("registry {} answered 500", registry.host())),
            "{args:?}\n{all}"
        );
    }
    assert!(f.list("IMAGES_CHANGED").is_empty());
}

#[test]
fn an_engine_that_stops_answering_exits_3_naming_docker_host() {
    let engine = Stalling::engine();
    let f = StackFixture::new(&[("base", None)], "", "");
    let host = format!("tcp://{}", engine.host());
    for args in [&["build"][..], &["plan", "build"]] {
        let out = f
            .test()
            .args(args)
            .env("DOCKER_HOST", &host)
            .env("DORUN_ENGINE_TIMEOUT", "2s")
            .within(LIMIT)
            .status(3)
            .run();
        let all = out.all();
        assert!(
            all.contains(&format!(
                "the Docker engine at {host} (DOCKER_HOST) did not answer within 2s"
            )),
            "{args:?}\n{all}"
        );
        assert!(
            out.elapsed < Duration::from_secs(15),
            "{args:?} took {:?}",
            out.elapsed
        );
    }
}

#[test]
fn list_and_info_answer_from_local_state_when_the_registry_is_down() {
    if !docker_available() {
        return;
    }
    let closed = closed_port();
    let registry = format!("127.0.0.1:{closed}");
    let f = StackFixture::new(
        &[("base", None)],
        &registry,
        "[tasks.lint]\nrun = \"touch linted\"\noutputs = [\"linted\"]\n",
    );
    f.test().arg("lint").within(LIMIT).run();

    let out = f
        .test()
        .args(&["list", "--all"])
        .within(LIMIT)
        .stdout_eq(str![[r#"
build          stale       
build:base     unknown     Build base
changed        never run   
lint           up-to-date  
manifest       stale       
manifest:base  unknown     Write the manifest of base
push           stale       
push:base      never run   Push base
test           stale       
test:base      unknown     Test base

"#]])
        .stderr_eq(str![[r#"
dorun: warning: cannot reach registry [REGISTRY]: [..]
  statuses that depend on it are shown as unknown

"#]])
        .run();
    let all = out.all();
    let status = |task: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(task))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("{task} not listed\n{all}"))
            .to_string()
    };
    assert_eq!(status("lint"), "up-to-date", "{all}");
    assert_eq!(status("build:base"), "unknown", "{all}");
    assert!(
        all.contains(&format!("cannot reach registry {registry}")),
        "{all}"
    );
    assert!(all.contains("shown as unknown"), "{all}");

    let out = f
        .test()
        .args(&["info", "build:base", "lint"])
        .within(LIMIT)
        .stdout_eq(str![[r#"
build:base
  doc:     Build base
  status:  unknown
  reason:  unknown: cannot reach registry [REGISTRY]: [..]
  deps:    changed
lint
  status:  up-to-date
  reason:  up to date
  run:     touch linted
  outputs: linted
  last run: [ELAPSED], 0 inputs, 1 outputs

"#]])
        .stderr_eq(str![[r#"
dorun: warning: cannot reach registry [REGISTRY]: [..]
  statuses that depend on it are shown as unknown

"#]])
        .run();
    let all = out.all();
    assert!(all.contains("status:  unknown"), "{all}");
    assert!(all.contains("status:  up-to-date"), "{all}");

    // Running image tasks still needs the registry.
    f.test().arg("build").within(LIMIT).status(3).run();
}
