//! Build secrets and `# syntax=` frontends through the engine's BuildKit, against the real
//! engine: a `RUN --mount=type=secret` reads the value over dorun's own session, the value is
//! masked in the output and absent from the image's history; an unpullable frontend image is
//! named in the error.

mod common;

use common::{build, busybox_context, request, unique_ref, Images};
use dorun_docker::{BuildEvent, BuildSecret, Builder, SecretValue};

fn secret(id: &str, value: &str) -> BuildSecret {
    BuildSecret {
        id: id.into(),
        value: SecretValue::new(value.as_bytes().to_vec()),
    }
}

#[test]
fn a_secret_mount_reads_the_value_and_the_output_masks_it() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let value = format!("s3cr3t-{}", std::process::id());
    // The step prints the secret (to prove the mask) and keeps only its length. BuildKit
    // keeps no layer for the context's LABEL: the step names its run, or an earlier run's
    // cached step (another value, another length) would answer.
    let run = unique_ref("secret-run");
    let dir = busybox_context(&format!(
        "RUN --mount=type=secret,id=tok,required=true echo \"{run} read: $(cat /run/secrets/tok)\" \
         && wc -c < /run/secrets/tok > /secret-length\n",
    ));
    let tag = images.track(&unique_ref("buildkit-secret"));
    let mut req = request(dir.path(), &tag);
    req.builder = Builder::BuildKit;
    req.secrets = vec![secret("tok", &value), secret("unused", "other-value")];
    let (result, events) = build(&engine, &req);
    let outcome = result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));

    let length = engine
        .stat_path(&tag, "/secret-length")
        .unwrap()
        .expect("/secret-length");
    let length = String::from_utf8(length.contents.unwrap()).unwrap();
    assert_eq!(length.trim(), value.len().to_string());
    let text = format!("{events:?}");
    assert!(
        !text.contains(&value),
        "the value leaked into the output: {text}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, BuildEvent::Line(l) if l.contains("read: ***"))),
        "the printed value is masked: {events:#?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, BuildEvent::Step { text, .. } if text.contains("--mount=type=secret"))
        ),
        "steps are reported on this path too: {events:#?}"
    );
    let history = format!("{:?}", engine.history(&outcome.image_id).unwrap());
    assert!(!history.contains(&value), "{history}");
}

#[test]
fn a_secret_the_build_does_not_have_fails_naming_its_id() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let dir = busybox_context("RUN --mount=type=secret,id=absent,required=true true\n");
    let tag = images.track(&unique_ref("buildkit-secret-absent"));
    let mut req = request(dir.path(), &tag);
    req.builder = Builder::BuildKit;
    req.secrets = vec![secret("tok", "irrelevant")];
    let (result, events) = build(&engine, &req);
    let err = result.expect_err("the secret is missing").to_string();
    assert!(err.contains("absent"), "{err}\n{events:#?}");
}

#[test]
fn an_unpullable_syntax_frontend_is_named_with_the_way_out() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    // Nothing is pulled from public registries here; the local registry answers "not found"
    // at once for a repository nobody pushed.
    let frontend = format!(
        "127.0.0.1:5000/{}/no-such-frontend:1",
        unique_ref("frontend").replace([':', '/'], "-")
    );
    let dir = busybox_context("");
    let path = dir.path().join("Dockerfile");
    let dockerfile = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("# syntax={frontend}\n{dockerfile}")).unwrap();
    let tag = images.track(&unique_ref("buildkit-frontend"));
    let mut req = request(dir.path(), &tag);
    req.builder = Builder::BuildKit;
    let (result, events) = build(&engine, &req);
    let err = result
        .expect_err("the frontend cannot be pulled")
        .to_string();
    assert!(
        err.contains(&format!("`# syntax={frontend}`")),
        "{err}\n{events:#?}"
    );
    assert!(err.contains("remove the `# syntax=` line"), "{err}");
}
