//! A registry or engine that stops answering: every request has a deadline, and its expiry
//! is exit 3 naming what did not answer (issue 4); `list` and `info` answer from local state
//! when the registry is down (issue 9).
use crate::stack_fixture::{docker_available, StackFixture};
use crate::stalling::Stalling;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs dorun in `f` like `StackFixture::dorun_env`, but kills it after `limit`: a hang must
/// fail the test, not stall the suite. Returns the output and how long dorun took.
fn run_within(
    f: &StackFixture,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dorun"))
        .args(["--progress", "plain"])
        .args(args)
        .current_dir(f.path())
        .env("NO_COLOR", "1")
        .env_remove("DORUN_REGISTRY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "dorun {args:?} still running after {limit:?}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    (child.wait_with_output().unwrap(), took)
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

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
    let deadline = [("DORUN_REGISTRY_TIMEOUT", "2s")];
    for args in [&["changed"][..], &["plan", "build"], &["build"]] {
        let (out, took) = run_within(&f, args, &deadline, Duration::from_secs(40));
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}\n{all}");
        assert!(
            all.contains(&format!(
                "registry {} did not answer HEAD /v2/",
                registry.host()
            )),
            "{args:?}\n{all}"
        );
        assert!(all.contains("within 2s"), "{all}");
        // One deadline, not one per image: the second question fails at once.
        assert!(took < Duration::from_secs(15), "{args:?} took {took:?}");
    }
    // Nothing was recorded as done.
    assert!(f.list("IMAGES_CHANGED").is_empty());
    let (out, _) = run_within(
        &f,
        &["changed"],
        &[("DORUN_REGISTRY_TIMEOUT", "soon")],
        Duration::from_secs(40),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("DORUN_REGISTRY_TIMEOUT=soon is not a duration"),
        "{}",
        text(&out)
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
        let (out, _) = run_within(&f, args, &[], Duration::from_secs(40));
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}\n{all}");
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
    let env = [
        ("DOCKER_HOST", host.as_str()),
        ("DORUN_ENGINE_TIMEOUT", "2s"),
    ];
    for args in [&["build"][..], &["plan", "build"]] {
        let (out, took) = run_within(&f, args, &env, Duration::from_secs(40));
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}\n{all}");
        assert!(
            all.contains(&format!(
                "the Docker engine at {host} (DOCKER_HOST) did not answer within 2s"
            )),
            "{args:?}\n{all}"
        );
        assert!(took < Duration::from_secs(15), "{args:?} took {took:?}");
    }
}

#[test]
fn list_and_info_answer_from_local_state_when_the_registry_is_down() {
    if !docker_available() {
        return;
    }
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry = format!("127.0.0.1:{closed}");
    let f = StackFixture::new(
        &[("base", None)],
        &registry,
        "[tasks.lint]\nrun = \"touch linted\"\noutputs = [\"linted\"]\n",
    );
    let (out, _) = run_within(&f, &["lint"], &[], Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let (out, _) = run_within(&f, &["list", "--all"], &[], Duration::from_secs(40));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let status = |task: &str| {
        stdout
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

    let (out, _) = run_within(
        &f,
        &["info", "build:base", "lint"],
        &[],
        Duration::from_secs(40),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("status:  unknown"), "{all}");
    assert!(all.contains("status:  up-to-date"), "{all}");

    // Running image tasks still needs the registry.
    let (out, _) = run_within(&f, &["build"], &[], Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}
