//! The run's one listing of the engine's images (issue 14) asks only for the images dorun
//! built (`label=dorun=1`), yet what dorun did not build is still found: an external base
//! (inspected by itself) and a stack image tagged by hand (inspected before it would be built,
//! then tagged rather than rebuilt).
use crate::engine_counter::EngineCounter;
use crate::stack_fixture::{closed_port, docker_available, file_in, StackFixture};
use dorun_docker::{BuildRequest, Engine};

/// Builds `dockerfile` (FROM scratch with busybox, or FROM a local image) with an engine that
/// has no owner, so the image carries none of dorun's labels, and tags it `tags`.
fn build_unlabelled(dockerfile: &str, tags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let request = BuildRequest {
        context_dir: dir.path().to_path_buf(),
        dockerfile: "Dockerfile".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    Engine::connect()
        .unwrap()
        .build(&request, &mut |_| {})
        .unwrap();
}

/// `GET …/images/json…` lines: listings of the engine's images.
fn listings(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| {
            l.starts_with("GET ") && l.split(' ').nth(1).unwrap_or("").contains("/images/json")
        })
        .collect()
}

#[test]
fn the_listing_asks_for_dorun_images_and_what_dorun_did_not_build_is_still_found() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("app", None), ("leaf", Some("app"))], "", "");
    // An external base only the local engine has, built without dorun's labels; its registry
    // does not answer, so it is found by inspecting the engine.
    let base = format!(
        "127.0.0.1:{}/{}-upstream/base:1",
        closed_port(),
        f.namespace
    );
    build_unlabelled(
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        &[&base],
    );
    f.write(
        "images/app/Dockerfile",
        &format!("FROM {base}\nRUN echo app > /seen\n"),
    );
    let counter = EngineCounter::start();
    f.test()
        .arg("build")
        .env("DOCKER_HOST", &counter.docker_host())
        .run();
    assert_eq!(f.ran("build:"), ["build:app", "build:leaf"]);

    // The leaf's tags now name an image dorun did not build (no labels).
    let record: serde_json::Value =
        serde_json::from_str(&f.read("artifacts/build/leaf.json")).unwrap();
    let content = record["content_reference"].as_str().unwrap().to_string();
    let human = record["reference"].as_str().unwrap().to_string();
    let engine = Engine::connect().unwrap();
    engine.remove_image(&content, false).unwrap();
    engine.remove_image(&human, false).unwrap();
    // Not FROM app: an image inherits its parent's labels, dorun's among them.
    build_unlabelled(
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         RUN echo by-hand > /by-hand\n",
        &[&content, &human],
    );

    let before = counter.request_lines().len();
    f.test()
        .arg("build")
        .env("DOCKER_HOST", &counter.docker_host())
        .run();
    let lines = counter.request_lines()[before..].to_vec();
    let listed = listings(&lines);
    assert_eq!(listed.len(), 1, "one listing per run: {listed:?}");
    assert!(
        listed[0].contains(r#""label":["dorun=1"]"#),
        "the listing asks for dorun's images only: {}",
        listed[0]
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("POST ") && l.contains("/build?")),
        "nothing was built again: {lines:?}"
    );
    assert!(
        f.read("logs/build/leaf.log").contains("is already built"),
        "the leaf was found by its inspect and tagged: {}",
        f.read("logs/build/leaf.log")
    );
    assert_eq!(file_in(&content, "/by-hand").as_deref(), Some("by-hand\n"));
}

#[test]
fn info_on_one_image_inspects_its_chain_instead_of_listing_every_image() {
    if !docker_available() {
        return;
    }
    let mut decls = vec![("base", None), ("mid", Some("base"))];
    let leaves: Vec<String> = (0..10).map(|i| format!("leaf{i}")).collect();
    decls.extend(leaves.iter().map(|l| (l.as_str(), Some("mid"))));
    let f = StackFixture::new(&decls, "", "");
    f.test().args(&["-j", "2", "build"]).run();
    let counter = EngineCounter::start();
    f.test()
        .args(&["info", "build:leaf7"])
        .env("DOCKER_HOST", &counter.docker_host())
        .stdout_contains("up to date")
        .run();
    let lines = counter.request_lines();
    assert!(listings(&lines).is_empty(), "no listing: {lines:#?}");
    // Its chain of three images, each inspected once or twice (content and commit tags), not
    // one inspect per image of the stack.
    let inspects = counter.inspects();
    assert!(
        (1..=8).contains(&inspects),
        "{inspects} inspects: {lines:#?}"
    );
    // A `list --all` of the whole stack still lists once.
    let before = counter.request_lines().len();
    f.test()
        .args(&["list", "--all"])
        .env("DOCKER_HOST", &counter.docker_host())
        .run();
    let lines = counter.request_lines()[before..].to_vec();
    assert_eq!(listings(&lines).len(), 1, "{lines:#?}");
}
