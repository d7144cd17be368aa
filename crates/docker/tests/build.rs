//! Builds against the real engine: context and `.dockerignore`, build args, failures, events,
//! and what the image looks like afterwards (stat_path, image_config, history).

mod common;

use common::{build, busybox_context, request, unique_ref, Images};
use dorun_docker::{BuildEvent, DockerError};

#[test]
fn dockerignore_keeps_files_out_and_build_args_arrive() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context(
        "ARG GREETING\nCOPY . /ctx/\nRUN echo \"$GREETING\" > /greeting && chmod 640 /greeting && chown 1000:100 /greeting\n",
    );
    let ctx = dir.path();
    std::fs::write(
        ctx.join(".dockerignore"),
        "secret.txt\nlogs\n*.tmp\n!keep.tmp\n",
    )
    .unwrap();
    std::fs::write(ctx.join("secret.txt"), "top secret").unwrap();
    std::fs::create_dir_all(ctx.join("logs/deep")).unwrap();
    std::fs::write(ctx.join("logs/deep/a.log"), "log").unwrap();
    std::fs::write(ctx.join("drop.tmp"), "x").unwrap();
    std::fs::write(ctx.join("keep.tmp"), "kept").unwrap();
    std::fs::write(ctx.join("visible.txt"), "hello").unwrap();

    let tag = images.track(&unique_ref("ignore"));
    let mut req = request(ctx, &tag);
    req.build_args.insert("GREETING".into(), "bonjour".into());
    req.labels.insert("org.dorun.test".into(), "yes".into());
    let (result, events) = build(&engine, &req);
    let outcome = result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    assert!(outcome.image_id.starts_with("sha256:"), "{outcome:?}");
    assert!(
        outcome.size > 1_000_000,
        "busybox alone is ~2 MB: {outcome:?}"
    );
    assert!(outcome.seconds > 0.0);
    assert!(outcome
        .layers
        .iter()
        .any(|l| l.created_by.contains("GREETING")));
    assert_eq!(
        engine.image_id(&tag).unwrap().as_deref(),
        Some(outcome.image_id.as_str())
    );

    // Ignored files never made it into the context, so `COPY .` could not copy them.
    assert_eq!(engine.stat_path(&tag, "/ctx/secret.txt").unwrap(), None);
    assert_eq!(engine.stat_path(&tag, "/ctx/logs").unwrap(), None);
    assert_eq!(engine.stat_path(&tag, "/ctx/drop.tmp").unwrap(), None);
    let kept = engine
        .stat_path(&tag, "/ctx/keep.tmp")
        .unwrap()
        .expect("re-included");
    assert_eq!(kept.contents.as_deref(), Some(&b"kept"[..]));
    let visible = engine.stat_path(&tag, "/ctx/visible.txt").unwrap().unwrap();
    assert_eq!(visible.contents.as_deref(), Some(&b"hello"[..]));
    // The build files are always sent.
    assert!(engine.stat_path(&tag, "/ctx/Dockerfile").unwrap().is_some());
    assert!(engine
        .stat_path(&tag, "/ctx/.dockerignore")
        .unwrap()
        .is_some());

    let greeting = engine.stat_path(&tag, "/greeting").unwrap().unwrap();
    assert_eq!(greeting.contents.as_deref(), Some(&b"bonjour\n"[..]));
    assert_eq!(
        (greeting.mode, greeting.uid, greeting.gid),
        (0o640, 1000, 100)
    );
    assert_eq!(greeting.mode_string(), "-rw-r-----");
    assert_eq!(greeting.size, 8);

    let config = engine.image_config(&tag).unwrap();
    assert_eq!(
        config.labels.get("org.dorun.test").map(String::as_str),
        Some("yes")
    );
}

#[test]
fn stat_path_kinds() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let tag = common::busybox_image(&mut images, "stat", "");
    let bin = engine.stat_path(&tag, "/bin").unwrap().unwrap();
    assert!(bin.is_dir && !bin.is_symlink, "{bin:?}");
    assert!(bin.contents.is_none());
    let sh = engine.stat_path(&tag, "/bin/sh").unwrap().unwrap();
    assert!(sh.is_symlink, "{sh:?}");
    assert_eq!(sh.link_target.as_deref(), Some("/bin/busybox"));
    let bb = engine.stat_path(&tag, "/bin/busybox").unwrap().unwrap();
    assert!(
        bb.size > 1_000_000 && bb.contents.is_none(),
        "{:?}",
        bb.size
    );
    assert_eq!(bb.mode & 0o111, 0o111);
    assert_eq!(engine.stat_path(&tag, "/no/such/file").unwrap(), None);
    assert!(matches!(
        engine.stat_path("dorun-docker-test/absent:nope", "/"),
        Err(DockerError::ImageNotFound { .. })
    ));
}

#[test]
fn failing_run_step_reports_the_builder_message_and_leaves_no_container() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context("RUN echo before-failure\nRUN exit 3\nRUN echo never\n");
    let tag = images.track(&unique_ref("fail"));
    let (result, events) = build(&engine, &request(dir.path(), &tag));
    // The classic builder keeps the steps that succeeded as untagged cache images.
    for event in &events {
        if let BuildEvent::Line(line) = event {
            if let Some(id) = line.strip_prefix(" ---> ").filter(|id| !id.contains(' ')) {
                images.track(id);
            }
        }
    }
    match result {
        Err(DockerError::BuildFailed { message }) => assert_eq!(
            message,
            "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
        ),
        other => panic!("expected BuildFailed, got {other:?}"),
    }
    assert!(
        events.contains(&BuildEvent::Line("before-failure".into())),
        "{events:#?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, BuildEvent::Line(l) if l == "never")));
    assert_eq!(engine.image_id(&tag).unwrap(), None);
}

#[test]
fn step_events_and_extra_tags() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context("RUN echo one\nCMD [\"sh\"]\n");
    let first = images.track(&unique_ref("steps"));
    let second = images.track(&unique_ref("steps"));
    let mut req = request(dir.path(), &first);
    req.tags.push(second.clone());
    let (result, events) = build(&engine, &req);
    let outcome = result.unwrap();
    // Engine 20.10's classic-builder race makes the build start again (saying so): the steps
    // are those of the last attempt.
    let last_attempt = events
        .iter()
        .rposition(|e| matches!(e, BuildEvent::Line(l) if l.ends_with("building again")))
        .map_or(0, |i| i + 1);
    let steps: Vec<(u32, u32, String)> = events[last_attempt..]
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Step { n, m, text } => Some((*n, *m, text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), 6, "{events:#?}");
    assert_eq!(steps[0], (1, 6, "FROM scratch".to_string()));
    assert_eq!(steps[4], (5, 6, "RUN echo one".to_string()));
    // Every step line also arrives as a plain line, for the log.
    assert!(events.contains(&BuildEvent::Line("Step 5/6 : RUN echo one".into())));
    assert_eq!(
        engine.image_id(&second).unwrap(),
        Some(outcome.image_id.clone())
    );
    let history = engine.history(&first).unwrap();
    assert_eq!(history.len(), outcome.layers.len());
    assert!(history[0].created_by.contains("CMD"), "{history:#?}");
    assert!(history.iter().all(|l| l.created > 1_600_000_000));
}

#[test]
fn image_config_reports_metadata() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let tag = common::busybox_image(
        &mut images,
        "config",
        "ENV LANG=C.UTF-8 EMPTY=\nLABEL maintainer=dorun\nEXPOSE 8080 53/udp\nWORKDIR /home/app\nUSER 1000\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"echo hi\"]\n",
    );
    let c = engine.image_config(&tag).unwrap();
    assert_eq!(c.user, "1000");
    assert_eq!(c.workdir, "/home/app");
    assert_eq!(c.env.get("LANG").map(String::as_str), Some("C.UTF-8"));
    assert_eq!(c.env.get("EMPTY").map(String::as_str), Some(""));
    assert_eq!(
        c.labels.get("maintainer").map(String::as_str),
        Some("dorun")
    );
    assert_eq!(c.exposed_ports, ["53/udp", "8080/tcp"]);
    assert_eq!(
        c.entrypoint,
        Some(vec!["/bin/sh".to_string(), "-c".to_string()])
    );
    assert_eq!(c.cmd, Some(vec!["echo hi".to_string()]));
    assert!(c.id.starts_with("sha256:") && c.size > 0);
    assert!(c.repo_digests.is_empty());
    assert!(matches!(
        engine.image_config("dorun-docker-test/absent:nope"),
        Err(DockerError::ImageNotFound { .. })
    ));
    assert_eq!(
        engine.image_id("dorun-docker-test/absent:nope").unwrap(),
        None
    );
}

#[test]
fn missing_dockerfile_fails_before_contacting_the_engine() {
    let Some(engine) = common::engine() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = build(&engine, &request(dir.path(), &unique_ref("none")));
    assert!(
        matches!(result, Err(DockerError::Context { .. })),
        "{result:?}"
    );
}

#[test]
fn dockerfile_errors_are_build_failures() {
    let Some(engine) = common::engine() else {
        return;
    };
    let dir = busybox_context("FROBNICATE everything\n");
    let (result, _) = build(&engine, &request(dir.path(), &unique_ref("parse")));
    match result {
        Err(DockerError::BuildFailed { message }) => {
            assert!(message.to_lowercase().contains("frobnicate"), "{message}")
        }
        other => panic!("expected BuildFailed, got {other:?}"),
    }

    let dir = busybox_context("");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM dorun-docker-test/never-built:nope\n",
    )
    .unwrap();
    let (result, _) = build(&engine, &request(dir.path(), &unique_ref("nobase")));
    assert!(
        matches!(result, Err(DockerError::BuildFailed { .. })),
        "{result:?}"
    );
}

#[test]
fn large_context_streams_in_chunks() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context("COPY big.bin /big.bin\n");
    // Sparse on disk, 64 MiB on the wire: far more than one body chunk.
    let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    big.set_len(64 * 1024 * 1024).unwrap();
    drop(big);
    let tag = images.track(&unique_ref("large"));
    let (result, events) = build(&engine, &request(dir.path(), &tag));
    result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    let info = engine.stat_path(&tag, "/big.bin").unwrap().unwrap();
    assert_eq!(info.size, 64 * 1024 * 1024);
    assert!(info.contents.is_none());
}

/// A request carrying a context listing sends exactly that list: a file that appears after the
/// listing was made (after dorun hashed the context for the identity) is not sent, so the image
/// cannot hold a file its content tag does not account for.
#[test]
fn a_given_context_listing_is_sent_as_listed() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context("COPY . /ctx/\n");
    let ctx = dir.path();
    std::fs::write(ctx.join("hashed.txt"), "in the listing").unwrap();
    let listing = dorun_docker::context_entries(ctx, "Dockerfile").unwrap();
    std::fs::write(ctx.join("late.txt"), "written after the listing").unwrap();

    let tag = images.track(&unique_ref("listed"));
    let mut req = request(ctx, &tag);
    req.context = Some(listing);
    let (result, events) = build(&engine, &req);
    result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    assert!(engine.stat_path(&tag, "/ctx/hashed.txt").unwrap().is_some());
    assert_eq!(engine.stat_path(&tag, "/ctx/late.txt").unwrap(), None);

    // Without a listing the build lists the directory itself, as before.
    let walked = images.track(&unique_ref("walked"));
    let (result, events) = build(&engine, &request(ctx, &walked));
    result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    assert!(engine
        .stat_path(&walked, "/ctx/late.txt")
        .unwrap()
        .is_some());
}
