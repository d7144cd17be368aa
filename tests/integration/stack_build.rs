//! images-changed and images-build against the real Docker engine and registry: identities,
//! minimal rebuilds, .dockerignore, plans, failures, fresh runners, unreachable engine.
use crate::stack_fixture::{docker_available, git, registry, StackFixture};
use snapbox::str;
use std::time::{Duration, Instant};

const FAMILY: &[(&str, Option<&str>)] = &[
    ("base", None),
    ("left", Some("base")),
    ("right", Some("base")),
    ("leaf", Some("left")),
];

fn built(f: &StackFixture) -> Vec<String> {
    f.ran("build:")
}

#[test]
fn full_build_then_nothing_then_only_what_changed() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(FAMILY, "", "");
    f.test().args(&["-j", "4", "build"]).run();
    assert_eq!(
        built(&f),
        ["build:base", "build:leaf", "build:left", "build:right"]
    );
    assert_eq!(
        f.list("IMAGES_CHANGED"),
        ["base", "left", "right", "leaf"],
        "build order"
    );
    f.file_eq(
        "artifacts/IMAGES_BUILT",
        str![[r#"
[NAMESPACE]/base:t1
[NAMESPACE]/left:t1
[NAMESPACE]/right:t1
[NAMESPACE]/leaf:t1

"#]],
    );
    let built_refs = f.list("IMAGES_BUILT");
    assert_eq!(built_refs.len(), 4);
    assert!(
        built_refs[0].starts_with(&format!("{}:t1", f.repo("", "base"))),
        "{built_refs:?}"
    );
    // Build records with layers.
    let record: serde_json::Value =
        serde_json::from_str(&f.read("artifacts/build/leaf.json")).unwrap();
    assert!(record["layers"].as_array().unwrap().len() >= 2);
    assert!(record["image_id"].as_str().unwrap().starts_with("sha256:"));
    assert!(
        f.read("logs/build/leaf.log").contains("] RUN "),
        "full build log with BuildKit's steps"
    );

    // Second run: no Docker build at all.
    f.test().arg("build").run();
    assert!(built(&f).is_empty(), "second run rebuilt {:?}", built(&f));

    // A leaf change rebuilds only the leaf.
    f.append("images/leaf/Dockerfile", "RUN echo changed > /changed\n");
    f.test().arg("build").run();
    assert_eq!(built(&f), ["build:leaf"]);

    // A parent change rebuilds it and its descendants, nothing else.
    f.append("images/left/Dockerfile", "RUN echo changed > /changed\n");
    let out = f.test().args(&["-v", "build"]).run();
    assert_eq!(built(&f), ["build:leaf", "build:left"]);
    assert!(
        out.stderr.contains("input images/left/Dockerfile changed"),
        "{}",
        out.stderr
    );

    // A rebuild-all-on change rebuilds everything.
    f.write("pipeline.txt", "v2\n");
    f.test().arg("build").run();
    assert_eq!(built(&f).len(), 4);
}

#[test]
fn child_builds_on_parent_content_tag() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None), ("child", Some("base"))], "", "");
    f.test().arg("build").run();
    let engine = dorun_docker::Engine::connect().unwrap();
    let built = f.list("IMAGES_BUILT");
    let child = built.iter().find(|r| r.contains("/child:")).unwrap();
    let info = engine
        .stat_path(child, "/base-tag")
        .unwrap()
        .expect("/base-tag");
    let base_tag = String::from_utf8(info.contents.unwrap()).unwrap();
    assert!(
        base_tag.trim().starts_with("t1-id-"),
        "BASE_TAG was {base_tag:?}"
    );
}

#[test]
fn dockerignore_is_honoured_in_image_and_identity() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    f.write("images/base/.dockerignore", "secret.txt\n*.md\n");
    f.write("images/base/secret.txt", "s3cret");
    f.write("images/base/notes.md", "notes");
    f.append("images/base/Dockerfile", "COPY . /ctx/\n");
    f.test().arg("build").run();
    let engine = dorun_docker::Engine::connect().unwrap();
    let image = &f.list("IMAGES_BUILT")[0];
    assert!(
        engine
            .stat_path(image, "/ctx/secret.txt")
            .unwrap()
            .is_none(),
        "ignored file sent"
    );
    assert!(engine
        .stat_path(image, "/ctx/Dockerfile")
        .unwrap()
        .is_some());
    // Editing an ignored file changes nothing.
    f.write("images/base/secret.txt", "other");
    let out = f
        .test()
        .args(&["plan", "build"])
        .stdout_eq(str![[r#"
run   changed: asks the local engine on every run
skip  build:base: up to date
1 of 2 tasks would run

"#]])
        .run();
    assert!(out.stdout.contains("skip  build:base"), "{}", out.stdout);
    f.test().arg("build").run();
    assert!(f.ran("build:").is_empty());
}

#[test]
fn plan_build_args_reach_parent_and_child() {
    if !docker_available() {
        return;
    }
    let extra = "[stack.plans.alpha]\ntag-prefix = \"a1\"\nbuild-args = { FLAVOR = \"alpha\" }\n\
                 [stack.plans.beta]\nbuild-args = { FLAVOR = \"beta\" }\n";
    let f = StackFixture::new(&[("base", None), ("child", Some("base"))], "", extra);
    f.append(
        "images/base/Dockerfile",
        "ARG FLAVOR\nRUN echo \"$FLAVOR\" > /base-flavor\n",
    );
    f.append(
        "images/child/Dockerfile",
        "ARG FLAVOR\nRUN echo \"$FLAVOR\" > /child-flavor\n",
    );
    f.test().args(&["-j", "4", "build"]).run();
    assert_eq!(
        f.list("IMAGES_CHANGED"),
        ["base@alpha", "base@beta", "child@alpha", "child@beta"]
    );
    let engine = dorun_docker::Engine::connect().unwrap();
    for r in f.list("IMAGES_BUILT") {
        let plan = if r.contains(":a1") { "alpha" } else { "beta" };
        for file in ["/base-flavor", "/child-flavor"] {
            if file == "/child-flavor" && !r.contains("/child:") {
                continue;
            }
            let c = engine
                .stat_path(&r, file)
                .unwrap()
                .unwrap()
                .contents
                .unwrap();
            assert_eq!(String::from_utf8(c).unwrap().trim(), plan, "{r} {file}");
        }
    }
}

#[test]
fn failing_run_fails_image_skips_descendants_and_keep_going_builds_sibling() {
    if !docker_available() {
        return;
    }
    // With a registry, unpushed images stay "changed", so the lists of the resumed run must
    // equal those of one clean run.
    let f = StackFixture::new(FAMILY, &registry(), "");
    f.append("images/left/Dockerfile", "RUN exit 3\n");
    let out = f.test().args(&["-k", "-j", "1", "build"]).status(1).run();
    let err = out.stderr;
    assert!(err.contains("FAIL  build:left"), "{err}");
    // BuildKit's verdict on the failing step, then the step itself in the log tail.
    assert!(err.contains("exit code: 3"), "{err}");
    assert!(err.contains("[3/3] RUN exit 3"), "{err}");
    assert!(
        err.contains("skip  build:leaf: dependency build:left failed"),
        "{err}"
    );
    assert!(
        f.ran("build:").contains(&"build:right".to_string()),
        "sibling built under -k"
    );
    assert_eq!(f.list("IMAGES_BUILT").len(), 2, "base and right");
    // Fix it: only the failed image and its descendant are built next.
    let dockerfile = f.read("images/left/Dockerfile").replace("RUN exit 3\n", "");
    f.write("images/left/Dockerfile", &dockerfile);
    f.test().arg("build").run();
    assert_eq!(built(&f), ["build:leaf", "build:left"]);
    assert_eq!(f.list("IMAGES_BUILT").len(), 4);
}

#[test]
fn published_images_are_not_changed_on_a_fresh_runner() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None), ("child", Some("base"))], &reg, "");
    f.test().arg("build").run();
    let engine = dorun_docker::Engine::connect().unwrap();
    // Content tags are what `changed` looks for; logs/changed.log lists each variant's.
    let log = f.read("logs/changed.log");
    for line in log.lines() {
        if let Some(reference) = line.split_whitespace().nth(2) {
            engine.push(reference, None).unwrap();
        }
    }
    std::fs::remove_dir_all(f.path().join(".dorun")).unwrap();
    std::fs::remove_dir_all(f.path().join("artifacts")).unwrap();
    f.test().arg("build").run();
    assert!(
        f.list("IMAGES_CHANGED").is_empty(),
        "{:?}",
        f.list("IMAGES_CHANGED")
    );
    assert!(f.ran("build:").is_empty());
}

#[test]
fn unreachable_engine_exits_3_naming_docker_host() {
    let f = StackFixture::new(&[("base", None)], "", "");
    f.test()
        .arg("build")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .status(3)
        .stderr_contains("DOCKER_HOST")
        .run();
}

#[test]
fn stack_errors_exit_2_with_location() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "orphan",
            "[images.orphan]\ndepends-on = \"bsae\"\n",
            "unknown image `bsae`",
        ),
        (
            "a",
            "[images.a]\ndepends-on = \"b\"\n[images.b]\ndepends-on = \"a\"\n",
            "image dependency cycle: a -> b -> a",
        ),
        ("Bad", "[images.Bad]\n", "invalid image name `Bad`"),
        ("", "[images.ghost]\n", "no directory images/ghost"),
    ];
    for (dir, extra, expected) in cases {
        let f = StackFixture::new(&[("base", None)], "", extra);
        for d in [*dir, "b"] {
            if !d.is_empty() && extra.contains(&format!("[images.{d}]")) {
                f.write(&format!("images/{d}/Dockerfile"), "FROM scratch\n");
            }
        }
        let out = f.test().arg("plan").status(2).run();
        let err = out.stderr;
        assert!(err.contains(expected), "expected {expected:?} in {err}");
        assert!(err.contains("tasks.toml:"), "no location in {err}");
    }
    // A Dockerfile directory without an [images.*] entry.
    let f = StackFixture::new(&[("base", None)], "", "");
    f.write("images/stray/Dockerfile", "FROM scratch\n");
    let out = f
        .test()
        .arg("plan")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: images/stray has a Dockerfile but tasks.toml has no [images.stray] entry
  --> [ROOT]/tasks.toml:1:1

"#]])
        .run();
    assert!(
        out.stderr.contains("no [images.stray] entry"),
        "{}",
        out.stderr
    );
    // An entry whose directory has no Dockerfile.
    let f = StackFixture::new(&[("base", None)], "", "[images.empty]\n");
    std::fs::create_dir_all(f.path().join("images/empty")).unwrap();
    let out = f
        .test()
        .arg("plan")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: missing Dockerfile: images/empty/Dockerfile does not exist
  --> [ROOT]/tasks.toml:17:9
    | [images.empty]

"#]])
        .run();
    assert!(out.stderr.contains("missing Dockerfile"), "{}", out.stderr);
}

#[test]
fn ctrl_c_during_a_docker_build_exits_130_promptly_and_records_nothing() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    f.append("images/base/Dockerfile", "RUN sleep 60\n");
    let mut running = f.test().arg("build").status(130).spawn();
    let log = f.join("logs/build/base.log");
    let reached = running.wait_until(
        "the build to reach RUN sleep 60",
        60,
        Duration::from_millis(100),
        |_| std::fs::read_to_string(&log).is_ok_and(|l| l.contains("RUN sleep 60")),
    );
    assert!(reached, "dorun ended before the build reached RUN sleep 60");
    let interrupted_at = Instant::now();
    running.signal(libc::SIGINT);
    running.wait();
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(20),
        "dorun waited {:?} for the build",
        interrupted_at.elapsed()
    );
    let base = f.run_entry("build:base");
    assert_eq!(base["status"], "failed", "{base}");
    f.test()
        .args(&["plan", "build"])
        .stdout_contains("run   build:base")
        .run();
}

#[test]
fn a_new_commit_only_retags_and_images_built_names_existing_references() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None), ("child", Some("base"))], &registry(), "");
    git(&f, &["init", "-q"]);
    git(&f, &["add", "-A"]);
    git(&f, &["commit", "-qm", "one"]);
    f.test().arg("build").run();
    let first = f.list("IMAGES_BUILT");
    assert_eq!(first.len(), 2);
    git(&f, &["commit", "-q", "--allow-empty", "-m", "two"]);
    // The new commit's human tags do not exist yet: IMAGES_BUILT must not name them.
    f.test().arg("changed").run();
    assert!(
        f.list("IMAGES_BUILT").is_empty(),
        "{:?}",
        f.list("IMAGES_BUILT")
    );
    // Building only adds the new human tag, without a Docker build (no build log steps).
    f.test().arg("build").run();
    let second = f.list("IMAGES_BUILT");
    assert_eq!(second.len(), 2);
    assert_ne!(first, second, "human tags follow the commit");
    assert!(
        f.read("logs/build/child.log").contains("already built"),
        "{}",
        f.read("logs/build/child.log")
    );
    let engine = dorun_docker::Engine::connect().unwrap();
    for r in &second {
        assert!(
            engine.image_id(r).unwrap().is_some(),
            "{r} is listed but not in the engine"
        );
    }
}

#[test]
fn odd_context_entries_are_sent_and_hashed() {
    use std::os::unix::ffi::OsStrExt;
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    let ctx = f.path().join("images/base");
    // A name that is not UTF-8 is sent and hashed as bytes.
    let odd = ctx.join(std::ffi::OsStr::from_bytes(b"b\xff.bin"));
    std::fs::write(&odd, "1").unwrap();
    // A FIFO is sent as a FIFO, like the docker CLI does.
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(ctx.join("pipe"))
        .status()
        .unwrap();
    assert!(mkfifo.success());
    // A socket cannot be sent: the build log says so.
    let _socket = std::os::unix::net::UnixListener::bind(ctx.join("sock")).unwrap();
    f.append("images/base/Dockerfile", "COPY . /ctx/\n");
    // The classic builder keeps the FIFO in the image; BuildKit's COPY leaves special files out
    // (what `DOCKER_BUILDKIT=1 docker build` does too), so this test is about what is sent.
    f.test().arg("build").env("DORUN_BUILDER", "classic").run();
    assert!(
        f.read("logs/build/base.log")
            .contains("warning: sock is a socket and is not sent with the build context"),
        "{}",
        f.read("logs/build/base.log")
    );
    let engine = dorun_docker::Engine::connect().unwrap();
    let image = &f.list("IMAGES_BUILT")[0];
    assert!(engine.stat_path(image, "/ctx/pipe").unwrap().is_some());

    std::fs::write(&odd, "2").unwrap();
    let out = f
        .test()
        .args(&["-v", "build"])
        .env("DORUN_BUILDER", "classic")
        .run();
    assert_eq!(built(&f), ["build:base"]);
    assert!(
        out.stderr.contains(r"input images/base/b\xff.bin changed"),
        "{}",
        out.stderr
    );
}

/// The build sends the context its identity was computed over: a file that appears between the
/// identity (taken by `images-changed`) and the build is not in the image that the content tag
/// names; the next run hashes it, gets a new identity and builds it in.
#[test]
fn the_context_sent_is_the_context_hashed() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    f.append("images/base/Dockerfile", "COPY . /ctx/\n");
    let tasks = f.read("tasks.toml");
    let build = r#"build = { builtin = "images-build", deps = ["changed"] }"#;
    assert!(tasks.contains(build), "{tasks}");
    let late = tasks.replace(
        build,
        r#"build = { builtin = "images-build", deps = ["changed", "late"] }"#,
    )
        + "\n[tasks.late]\ndeps = [\"changed\"]\nrun = [\"echo late > images/base/late.txt\"]\n";
    f.write("tasks.toml", &late);
    f.test().arg("build").run();
    let engine = dorun_docker::Engine::connect().unwrap();
    let first = f.list("IMAGES_BUILT");
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(engine
        .stat_path(&first[0], "/ctx/Dockerfile")
        .unwrap()
        .is_some());
    assert_eq!(
        engine.stat_path(&first[0], "/ctx/late.txt").unwrap(),
        None,
        "a file the identity did not hash was sent"
    );

    f.test()
        .args(&["-v", "build"])
        .stderr_contains("input images/base/late.txt added")
        .run();
    assert_eq!(built(&f), ["build:base"]);
    let second = f.list("IMAGES_BUILT");
    assert!(engine
        .stat_path(&second[0], "/ctx/late.txt")
        .unwrap()
        .is_some());
}

/// A shell task the image tasks depend on may write a build context's files (the example
/// stack copies busybox into base's context): the first run builds the images from what it
/// wrote, with the identity of what it wrote, not of the files before it ran.
#[test]
fn a_context_file_written_by_a_shell_task_of_the_same_run_is_built_and_hashed() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("root", None), ("leaf", Some("root"))], &registry(), "");
    std::fs::remove_file(f.join("images/root/busybox")).unwrap();
    let toml = f.read("tasks.toml").replace(
        "changed = { builtin = \"images-changed\" }",
        "changed = { builtin = \"images-changed\", deps = [\"copy\"] }\n\
         copy = { run = \"cp /bin/busybox images/root/busybox\", outputs = [\"images/root/busybox\"] }",
    );
    f.write("tasks.toml", &toml);

    let out = f.test().arg("build").status(0).run();
    assert!(out.stderr.contains("ok    build:root"), "{}", out.stderr);
    // The identity built is the one of the files as they are now: nothing is stale.
    let again = f.test().args(&["plan", "build"]).status(0).run();
    assert!(
        again.stdout.contains("skip  build:root: up to date"),
        "{}\n{}",
        again.stdout,
        again.stderr
    );
}
