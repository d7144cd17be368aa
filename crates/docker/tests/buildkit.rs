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

/// A step unique to this run (BuildKit keys its cache on content, not on the context's LABEL,
/// so earlier runs' layers stay out), an argument, and a step that uses it.
fn steady_then_nonce() -> String {
    let token = unique_ref("steady").replace([':', '/'], "-");
    format!("RUN echo {token} > /steady\nARG NONCE\nRUN echo \"$NONCE\" > /nonce\n")
}

#[test]
fn steps_say_which_were_cached_and_a_missing_cache_source_is_skipped() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context(&steady_then_nonce());
    let registry = std::env::var("DORUN_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into());
    let mut runs = Vec::new();
    for nonce in ["first", "second"] {
        let tag = images.track(&unique_ref("buildkit-steps"));
        let mut req = request(dir.path(), &tag);
        req.builder = Builder::BuildKit;
        req.build_args.insert("NONCE".into(), nonce.into());
        // The registry cache as dorun asks for it: inline metadata, and a source that was
        // never pushed (a first build), which must not fail the build.
        req.inline_cache = true;
        req.cache_from = vec![format!("{registry}/dorun-docker-test/never-pushed:stable")];
        let (result, events) = build(&engine, &req);
        let outcome = result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
        runs.push(
            outcome
                .steps
                .iter()
                .map(|s| (s.instruction.clone(), s.cached))
                .collect::<Vec<_>>(),
        );
        let nonce_step = outcome
            .steps
            .iter()
            .find(|s| s.instruction.contains("/nonce"))
            .unwrap();
        assert!(nonce_step.seconds > 0.0, "{:?}", outcome.steps);
        assert!(
            !outcome
                .steps
                .iter()
                .any(|s| s.instruction.contains("BUILDKIT_INLINE_CACHE")),
            "{:?}",
            outcome.steps
        );
    }
    // BuildKit names a step with its arguments expanded, and has no step for ARG.
    let steady = |run: &[(String, bool)]| {
        run.iter()
            .find(|(instruction, _)| instruction.ends_with("> /steady"))
            .map(|(_, cached)| *cached)
    };
    assert_eq!(
        [steady(&runs[0]), steady(&runs[1])],
        [Some(false), Some(true)],
        "{runs:?}"
    );
    assert!(
        runs[0].contains(&("RUN echo \"first\" > /nonce".into(), false)),
        "{runs:?}"
    );
    assert!(
        runs[1].contains(&("RUN echo \"second\" > /nonce".into(), false)),
        "{runs:?}"
    );
}

#[test]
fn classic_steps_are_derived_from_its_step_lines() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context(&steady_then_nonce());
    let mut runs = Vec::new();
    for nonce in ["first", "second"] {
        let tag = images.track(&unique_ref("classic-steps"));
        let mut req = request(dir.path(), &tag);
        req.build_args.insert("NONCE".into(), nonce.into());
        let (result, events) = build(&engine, &req);
        let outcome = result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
        runs.push(
            outcome
                .steps
                .iter()
                .map(|s| (s.position.clone(), s.instruction.clone(), s.cached))
                .collect::<Vec<_>>(),
        );
    }
    // FROM, LABEL, COPY, RUN (busybox_context), then RUN, ARG, RUN.
    assert_eq!(runs[1].len(), 7, "{runs:?}");
    assert_eq!(runs[0][0], ("1/7".into(), "FROM scratch".into(), false));
    let steady = |run: &[(String, String, bool)]| (run[4].0.clone(), run[4].2);
    assert_eq!(steady(&runs[0]), ("5/7".into(), false), "{runs:?}");
    assert_eq!(steady(&runs[1]), ("5/7".into(), true), "{runs:?}");
    assert!(runs[1][4].1.ends_with("> /steady"), "{runs:?}");
    assert_eq!(
        runs[1][6],
        ("7/7".into(), "RUN echo \"$NONCE\" > /nonce".into(), false)
    );
}
