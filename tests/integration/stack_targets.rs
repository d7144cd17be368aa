//! Multi-stage Dockerfiles through BuildKit against the real engine: `target = "<stage>"` in
//! `[images.X]` builds that stage (another image, another identity), `RUN
//! --mount=type=bind,from=<stage>` reads a file of another stage, a target naming no stage fails
//! with the builder's message, and the build record lists the steps that ran.
use crate::stack_fixture::{docker_available, file_in, StackFixture};
use serde_json::Value;
use snapbox::str;

/// Three stages: `tools` (busybox), `wanted` writes `/wanted-only`, and the last one reads that
/// file through a bind mount of `wanted` and writes `/last-only`. The namespace in a RUN keeps
/// other tests' and earlier runs' BuildKit cache (keyed on content) out.
fn multi_stage_dockerfile(namespace: &str) -> String {
    format!(
        "FROM scratch AS tools\nCOPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN echo {namespace} > /namespace\n\n\
         FROM tools AS wanted\nRUN echo wanted > /wanted-only\n\n\
         FROM tools AS last\n\
         RUN --mount=type=bind,from=wanted,source=/wanted-only,target=/mnt/wanted \
         cat /mnt/wanted > /read-through-bind && echo last > /last-only\n"
    )
}

fn record(f: &StackFixture) -> Value {
    serde_json::from_str(&f.read("artifacts/build/multi.json")).unwrap()
}

/// The instructions of the record's steps.
fn instructions(record: &Value) -> Vec<String> {
    record["steps"]
        .as_array()
        .expect("steps in the build record")
        .iter()
        .map(|s| s["instruction"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_target_stage_is_built_and_a_bind_mount_reads_another_stage() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("multi", None)], "", "");
    f.write(
        "images/multi/Dockerfile",
        &multi_stage_dockerfile(&f.namespace),
    );

    // No target: the last stage, which read `wanted`'s file through the bind mount.
    f.test().arg("build").run();
    let image = f.list("IMAGES_BUILT")[0].clone();
    assert_eq!(
        file_in(&image, "/read-through-bind").as_deref(),
        Some("wanted\n")
    );
    assert_eq!(file_in(&image, "/last-only").as_deref(), Some("last\n"));
    assert_eq!(file_in(&image, "/wanted-only"), None);
    let whole = record(&f);
    let steps = instructions(&whole);
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("RUN --mount=type=bind,from=wanted")),
        "{steps:?}"
    );

    // target = "wanted": that stage is the image, under another identity.
    f.image_setting("multi", "target = \"wanted\"");
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:multi"]);
    let wanted = record(&f);
    assert_ne!(wanted["content_reference"], whole["content_reference"]);
    let image = f.list("IMAGES_BUILT")[0].clone();
    assert_eq!(file_in(&image, "/wanted-only").as_deref(), Some("wanted\n"));
    assert_eq!(file_in(&image, "/last-only"), None);
    let steps = instructions(&wanted);
    assert!(
        steps.contains(&"RUN echo wanted > /wanted-only".to_string()),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.contains("/last-only")),
        "the last stage is not built: {steps:?}"
    );
}

#[test]
fn a_target_naming_no_stage_fails_with_the_builders_message() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("multi", None)], "", "");
    f.write(
        "images/multi/Dockerfile",
        &multi_stage_dockerfile(&f.namespace),
    );
    f.image_setting("multi", "target = \"nosuch\"");
    let out = f.test().arg("build").status(1).run();
    assert!(out.stderr.contains("FAIL  build:multi"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("target stage nosuch could not be found"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_empty_target_exits_2_where_it_is_written() {
    let f = StackFixture::new(&[("multi", None)], "", "");
    f.image_setting("multi", "target = \"\"");
    f.test()
        .arg("plan")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: empty target: name a stage of the Dockerfile (`FROM … AS <stage>`), or remove the key
  --> [ROOT]/tasks.toml:17:10
    | target = ""

"#]])
        .run();
}
