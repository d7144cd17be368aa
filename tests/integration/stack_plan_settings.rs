//! Per-plan images against the real engine: `[stack.plans.P] dockerfile` used by the images
//! whose directory has that file, `[images.X.plans.P]` build args, Dockerfile, target, test
//! limits and `skip`, with the precedence image-plan over plan over image (build args key by key), and
//! the errors of a misspelt plan or a missing Dockerfile (exit 2 where they are written).
use crate::stack_fixture::{docker_available, file_in, StackFixture};

/// The content reference of variant `key` from its build record.
fn built_image(f: &StackFixture, key: &str) -> String {
    let record: serde_json::Value =
        serde_json::from_str(&f.read(&format!("artifacts/build/{key}.json"))).unwrap();
    record["content_reference"].as_str().unwrap().to_string()
}

/// Plans `deb` and `alp`; `alp` names `Dockerfile.alpine`, which only `base` and `child` have;
/// `child` overrides it with `Dockerfile.special` for `alp`; `other` skips `deb` through
/// `[images.other.plans.deb] skip = true` and builds stage `first` for `alp`. Build args are
/// set at all three levels.
fn fixture() -> StackFixture {
    let f = StackFixture::new(
        &[("base", None), ("child", Some("base")), ("other", None)],
        "",
        "[stack.plans.deb]\n\
         [stack.plans.alp]\ndockerfile = \"Dockerfile.alpine\"\n\
         build-args = { FLAVOR = \"plan\", LEVEL = \"plan\" }\n\
         [images.base.plans.alp]\nbuild-args = { FLAVOR = \"image-plan\" }\n\
         [images.base.plans.alp.test]\nnetwork = \"none\"\n\
         [images.child.plans.alp]\ndockerfile = \"Dockerfile.special\"\n\
         [images.other.plans.deb]\nskip = true\n\
         [images.other.plans.alp]\ntarget = \"first\"\n",
    );
    f.image_setting(
        "base",
        "build-args = { FLAVOR = \"image\", LEVEL = \"image\", OWN = \"image\" }",
    );
    let args = "ARG FLAVOR\nARG LEVEL\nARG OWN\nRUN echo \"$FLAVOR $LEVEL $OWN\" > /args\n";
    let base = f.read("images/base/Dockerfile");
    f.write("images/base/Dockerfile", &format!("{base}{args}"));
    f.write(
        "images/base/Dockerfile.alpine",
        &format!("{base}{args}RUN echo Dockerfile.alpine > /dockerfile\n"),
    );
    // `other` has two stages; its image-plan's target stops at the first.
    let other = f.read("images/other/Dockerfile");
    f.write(
        "images/other/Dockerfile",
        &format!(
            "{}FROM first AS second\nRUN echo second > /stage\n",
            other.replacen("FROM scratch", "FROM scratch AS first", 1)
        ),
    );
    let child = f.read("images/child/Dockerfile");
    f.write(
        "images/child/Dockerfile.alpine",
        &format!("{child}RUN echo Dockerfile.alpine > /dockerfile\n"),
    );
    f.write(
        "images/child/Dockerfile.special",
        &format!("{child}RUN echo Dockerfile.special > /dockerfile\n"),
    );
    f
}

#[test]
fn plan_dockerfiles_and_per_image_plan_args_reach_the_images() {
    if !docker_available() {
        return;
    }
    let f = fixture();
    f.test().arg("build").run();
    // `skip = true` removes the subtask, as skip-plans does.
    assert_eq!(
        f.ran("build:"),
        [
            "build:base@alp",
            "build:base@deb",
            "build:child@alp",
            "build:child@deb",
            "build:other@alp"
        ]
    );

    let base_alp = built_image(&f, "base@alp");
    let base_deb = built_image(&f, "base@deb");
    // The plan's Dockerfile for plan alp, the regular one for deb.
    assert_eq!(
        file_in(&base_alp, "/dockerfile").as_deref(),
        Some("Dockerfile.alpine\n")
    );
    assert_eq!(file_in(&base_deb, "/dockerfile"), None);
    // Build args key by key: image-plan over plan over image.
    assert_eq!(
        file_in(&base_alp, "/args").as_deref(),
        Some("image-plan plan image\n")
    );
    assert_eq!(
        file_in(&base_deb, "/args").as_deref(),
        Some("image image image\n")
    );
    // The image-plan's Dockerfile over the plan's.
    assert_eq!(
        file_in(&built_image(&f, "child@alp"), "/dockerfile").as_deref(),
        Some("Dockerfile.special\n")
    );
    // `other` has no Dockerfile.alpine: its own Dockerfile for alp too.
    let other_alp = built_image(&f, "other@alp");
    assert_eq!(file_in(&other_alp, "/dockerfile"), None);
    assert_eq!(
        file_in(&other_alp, "/image-name").as_deref(),
        Some("other\n")
    );
    // Its image-plan's target: the first stage, without the second's file.
    assert_eq!(file_in(&other_alp, "/stage"), None);

    // The image-plan's test limits apply to that variant only.
    f.script("images/base/test/test_true", "true");
    f.test().arg("test:base@alp").arg("test:base@deb").run();
    assert!(
        f.read("logs/test/base@alp.log").contains("network none"),
        "{}",
        f.read("logs/test/base@alp.log")
    );
    assert!(f.read("logs/test/base@deb.log").contains("network default"));

    // `skip = true` also keeps the variant out of the listing.
    let out = f.test().args(&["list", "--all"]).run();
    assert!(out.stdout.contains("build:other@alp"), "{}", out.stdout);
    assert!(!out.stdout.contains("other@deb"), "{}", out.stdout);
}

#[test]
fn an_unknown_plan_in_image_plans_exits_2_where_it_is_written() {
    let f = StackFixture::new(
        &[("base", None)],
        "",
        "[stack.plans.alp]\n[images.base.plans.apl]\nskip = true\n",
    );
    f.test()
        .arg("plan")
        .status(2)
        .stderr_contains(
            "unknown plan `apl` in [images.base.plans] (did you mean `alp`?): declare it as [stack.plans.apl]",
        )
        .stderr_contains("tasks.toml:18:")
        .run();
}

#[test]
fn a_missing_image_plan_dockerfile_exits_2_where_it_is_written() {
    let f = StackFixture::new(
        &[("base", None)],
        "",
        "[stack.plans.alp]\n[images.base.plans.alp]\ndockerfile = \"Dockerfile.nope\"\n",
    );
    f.test()
        .arg("plan")
        .status(2)
        .stderr_contains("missing Dockerfile: images/base/Dockerfile.nope does not exist")
        .stderr_contains("tasks.toml:19:14")
        .run();
}

#[test]
fn an_unknown_key_in_image_plans_warns_with_its_line() {
    let f = StackFixture::new(
        &[("base", None)],
        "",
        "[stack.plans.alp]\n[images.base.plans.alp]\nbuild-arg = { A = \"1\" }\n",
    );
    f.test()
        .arg("plan")
        .stderr_contains(
            "unknown key `build-arg` in [images.base.plans.alp] (ignored, did you mean `build-args`?)",
        )
        .run();
}
