//! External base images in the identity (issue 13 point 1), against the real engine and the
//! loopback registry: an "upstream" base published under a unique repository, a new upstream
//! image under the same tag making exactly its dependents stale with the digests named, the
//! build using the digest that was hashed, `--pull` moving the engine's tag, multi-stage files,
//! and a base registry that does not answer.
use crate::stack_fixture::{closed_port, docker_available, registry, StackFixture};
use dorun_docker::{BuildRequest, Builder, Engine, Registry};

/// `REGISTRY/<namespace>-upstream/base:12`, built FROM scratch with busybox and `version` in
/// `/upstream`, pushed; returns (engine image id, registry digest).
fn publish_upstream(reference: &str, version: &str) -> (String, String) {
    let engine = Engine::connect().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
             RUN echo {version} > /upstream\n"
        ),
    )
    .unwrap();
    let request = BuildRequest {
        context_dir: dir.path().to_path_buf(),
        dockerfile: "Dockerfile".into(),
        tags: vec![reference.to_string()],
        builder: Builder::Classic,
        ..Default::default()
    };
    let outcome = engine.build(&request, &mut |_| {}).unwrap();
    let digest = engine.push(reference, None).unwrap();
    (outcome.image_id, digest)
}

/// What the registry holds under `reference`'s tag now.
fn registry_digest(reference: &str) -> String {
    let parsed = dorun_docker::ImageRef::parse(reference).unwrap();
    Registry::new(parsed.registry_host(), None)
        .manifest_digest(&parsed.repository, parsed.tag())
        .unwrap()
        .expect("published")
}

fn local_id(reference: &str) -> Option<String> {
    Engine::connect().unwrap().image_id(reference).unwrap()
}

/// A stack: `plain` FROM scratch, `app` FROM the upstream base, `leaf` FROM app.
fn stack_on(upstream: &str) -> StackFixture {
    let f = StackFixture::new(
        &[("plain", None), ("app", None), ("leaf", Some("app"))],
        "",
        "",
    );
    f.write(
        "images/app/Dockerfile",
        &format!("ARG UPSTREAM={upstream}\nFROM ${{UPSTREAM}}\nRUN cat /upstream > /seen\n"),
    );
    f
}

#[test]
fn a_new_upstream_base_makes_exactly_its_dependents_stale_and_is_what_they_are_built_from() {
    if !docker_available() {
        return;
    }
    let probe = StackFixture::new(&[], "", "");
    let upstream = format!("{}/{}-upstream/base:12", registry(), probe.namespace);
    let (v1_id, v1) = publish_upstream(&upstream, "v1");
    let f = stack_on(&upstream);
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:app", "build:leaf", "build:plain"]);
    f.test().arg("build").run();
    assert!(f.ran("build:").is_empty(), "nothing changed upstream yet");

    // Upstream publishes a new image under the same tag; this engine's tag still names the old
    // one (as on a machine that pulled it long ago).
    let (_, v2) = publish_upstream(&upstream, "v2");
    assert_eq!(registry_digest(&upstream), v2);
    Engine::connect()
        .unwrap()
        .tag_reference(&v1_id, &upstream)
        .unwrap();
    let reason = format!("base image {upstream} changed digest {v1}→{v2}");
    f.test()
        .args(&["info", "build:app"])
        .stdout_contains(&reason)
        .run();
    let out = f.test().args(&["-v", "build"]).run();
    assert_eq!(
        f.ran("build:"),
        ["build:app", "build:leaf"],
        "exactly the dependents"
    );
    assert!(out.stderr.contains(&reason), "{}", out.stderr);
    // What was hashed is what was built: the registry's new image, not the engine's old tag.
    let log = f.read("logs/build/app.log");
    assert!(
        log.contains(&format!("@{v2}")),
        "the build names the digest: {log}"
    );
    assert_eq!(
        local_id(&upstream).as_deref(),
        Some(v1_id.as_str()),
        "without --pull the engine's tag stays"
    );
    f.test().arg("build").run();
    assert!(f.ran("build:").is_empty(), "up to date on the new base");
}

#[test]
fn pull_moves_the_engines_tag_to_the_registrys_image() {
    if !docker_available() {
        return;
    }
    let probe = StackFixture::new(&[], "", "");
    let upstream = format!("{}/{}-upstream/base:12", registry(), probe.namespace);
    let (v1_id, _) = publish_upstream(&upstream, "v1");
    let f = stack_on(&upstream);
    let (v2_id, v2) = publish_upstream(&upstream, "v2");
    let engine = Engine::connect().unwrap();
    engine.tag_reference(&v1_id, &upstream).unwrap();
    f.test().args(&["--pull", "build"]).run();
    assert_eq!(f.ran("build:"), ["build:app", "build:leaf", "build:plain"]);
    assert_eq!(
        local_id(&upstream).as_deref(),
        Some(v2_id.as_str()),
        "after --pull the tag names the registry's image, as after docker pull"
    );
    assert!(f.read("logs/build/app.log").contains(&format!("@{v2}")));
}

#[test]
fn multi_stage_files_hash_only_their_external_bases() {
    if !docker_available() {
        return;
    }
    let probe = StackFixture::new(&[], "", "");
    let upstream = format!("{}/{}-upstream/tools:1", registry(), probe.namespace);
    publish_upstream(&upstream, "v1");
    let f = StackFixture::new(&[("app", None)], "", "");
    f.write(
        "images/app/Dockerfile",
        &format!(
            "FROM {upstream} AS Tools\nRUN echo tool > /tool\nFROM scratch AS empty\n\
             FROM tools AS again\nFROM scratch\nCOPY --from=again /bin/busybox /bin/busybox\n\
             COPY --from=tools /tool /tool\n"
        ),
    );
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:app"]);
    let (_, v2) = publish_upstream(&upstream, "v2");
    let out = f.test().args(&["info", "build:app"]).run();
    assert!(
        out.stdout
            .contains(&format!("base image {upstream} changed digest ")),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("base image ").count(),
        1,
        "scratch and the stages are not bases: {}",
        out.stdout
    );
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:app"]);
    assert!(f.read("logs/build/app.log").contains(&format!("@{v2}")));
}

#[test]
fn an_unreachable_base_registry_exits_3_naming_it_unless_the_image_is_local() {
    if !docker_available() {
        return;
    }
    let closed = closed_port();
    let f = StackFixture::new(&[("app", None)], "", "");
    let base = format!("127.0.0.1:{closed}/{}-upstream/base:1", f.namespace);
    f.write(
        "images/app/Dockerfile",
        &format!("FROM {base}\nRUN echo app > /seen\n"),
    );
    let out = f.test().arg("build").status(3).run();
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{closed}")) && out.stderr.contains(&base),
        "names the base and its registry: {}",
        out.stderr
    );
    assert!(
        !f.exists("artifacts/run.json"),
        "stopped before any task, as for an engine that does not answer"
    );

    // In the local engine: used, with a warning naming the registry.
    let engine = Engine::connect().unwrap();
    let scratch = StackFixture::new(&[("seed", None)], "", "");
    scratch.test().arg("build").run();
    let seed = scratch.list("IMAGES_BUILT")[0].clone();
    engine.tag_reference(&seed, &base).unwrap();
    let out = f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:app"]);
    assert!(
        out.stderr.contains("warning")
            && out
                .stderr
                .contains(&format!("registry 127.0.0.1:{closed} did not answer")),
        "{}",
        out.stderr
    );
}
