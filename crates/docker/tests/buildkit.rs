//! Builds through the engine's BuildKit against the real engine: the result is an image like a
//! classic build's, steps are reported, and `RUN --mount=type=cache` keeps its cache.

mod common;

use common::{build, busybox_context, request, unique_ref, Images};
use dorun_docker::{BuildEvent, Builder};

#[test]
fn a_cache_mount_is_found_filled_by_the_next_build() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    // A cache id of its own, so no earlier run or other test has filled it; the nonce makes
    // the second build run the step again instead of reusing the layer.
    let cache_id = unique_ref("cache").replace([':', '/'], "-");
    let dir = busybox_context(&format!(
        "ARG NONCE\nRUN --mount=type=cache,id={cache_id},target=/cache echo \"$NONCE\" >> /cache/runs && cp /cache/runs /seen\n"
    ));
    let mut seen = Vec::new();
    for nonce in ["first", "second"] {
        let tag = images.track(&unique_ref("buildkit-cache"));
        let mut req = request(dir.path(), &tag);
        req.builder = Builder::BuildKit;
        req.build_args.insert("NONCE".into(), nonce.into());
        let (result, events) = build(&engine, &req);
        let outcome = result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
        assert!(outcome.image_id.starts_with("sha256:"), "{outcome:?}");
        assert!(
            events.iter().any(|e| matches!(e, BuildEvent::Step { text, .. } if text.contains("--mount=type=cache"))),
            "the RUN step is reported: {events:#?}"
        );
        let file = engine.stat_path(&tag, "/seen").unwrap().expect("/seen");
        seen.push(String::from_utf8(file.contents.unwrap()).unwrap());
    }
    assert_eq!(seen, ["first\n", "first\nsecond\n"]);
}

#[test]
fn a_failing_buildkit_step_reports_the_builders_message() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context("RUN echo doomed-output && exit 3\n");
    let tag = images.track(&unique_ref("buildkit-fail"));
    let mut req = request(dir.path(), &tag);
    req.builder = Builder::BuildKit;
    let (result, events) = build(&engine, &req);
    let err = result.expect_err("the step fails").to_string();
    assert!(
        err.contains("exit code: 3") || err.contains("exit code 3"),
        "{err}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, BuildEvent::Line(l) if l.contains("doomed-output"))),
        "the step's output is in the log: {events:#?}"
    );
}
