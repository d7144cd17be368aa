//! `[stack] builder` and `DORUN_BUILDER` against the real engine: the setting is checked when
//! tasks.toml loads, BuildKit builds `RUN --mount=type=cache` with a cache that the next build
//! finds filled, and the builder is part of the identity only when it is BuildKit.
use crate::stack_fixture::{docker_available, StackFixture};
use snapbox::str;

/// Sets `line` in the fixture's `[stack]` table.
fn stack_setting(f: &StackFixture, line: &str) {
    let toml = f.read("tasks.toml");
    f.write(
        "tasks.toml",
        &toml.replacen("[stack]\n", &format!("[stack]\n{line}\n"), 1),
    );
}

#[test]
fn a_bad_builder_exits_2_where_it_is_written() {
    let f = StackFixture::new(&[("base", None)], "", "");
    stack_setting(&f, "builder = \"fast\"");
    f.test()
        .arg("plan")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: invalid builder `fast`: use `buildkit` or `classic`
  --> [ROOT]/tasks.toml:2:11
    | builder = "fast"

"#]])
        .run();
    // The environment overrides tasks.toml, and is checked too.
    f.test().arg("plan").env("DORUN_BUILDER", "classic").run();
    f.test()
        .arg("plan")
        .env("DORUN_BUILDER", "bk")
        .status(2)
        .stderr_contains("DORUN_BUILDER=`bk` is invalid: use `buildkit` or `classic`")
        .run();
}

#[test]
fn buildkit_builds_a_cache_mount_the_next_build_finds_filled() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    f.test().arg("build").env("DORUN_BUILDER", "classic").run();
    let content_reference = || -> String {
        let record: serde_json::Value =
            serde_json::from_str(&f.read("artifacts/build/base.json")).unwrap();
        record["content_reference"].as_str().unwrap().to_string()
    };
    let classic = content_reference();

    // BuildKit is part of the identity: switching to it rebuilds under another content tag.
    stack_setting(&f, "builder = \"buildkit\"");
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:base"]);
    assert_ne!(
        classic,
        content_reference(),
        "same content tag for both builders"
    );
    // Classic stays out of the identity: the classic image of the first run is still current
    // (only its human tag, moved by the BuildKit build, is put back).
    let out = f
        .test()
        .args(&["-v", "build"])
        .env("DORUN_BUILDER", "classic")
        .run();
    assert!(
        out.stderr
            .contains("build:base: already built; only the tag"),
        "{}",
        out.stderr
    );

    // A cache of this test's own; each build appends to it and copies it into the image.
    let cache = format!("--mount=type=cache,id={},target=/cache", f.namespace);
    let dockerfile = f.read("images/base/Dockerfile");
    for run in ["one", "two"] {
        f.write(
            "images/base/Dockerfile",
            &format!("{dockerfile}RUN {cache} echo {run} >> /cache/runs && cp /cache/runs /seen\n"),
        );
        f.test().arg("build").run();
        assert_eq!(f.ran("build:"), ["build:base"]);
    }
    let image = &f.list("IMAGES_BUILT")[0];
    let engine = dorun_docker::Engine::connect().unwrap();
    let seen = engine.stat_path(image, "/seen").unwrap().expect("/seen");
    assert_eq!(seen.contents.as_deref(), Some(&b"one\ntwo\n"[..]));
    assert!(
        f.read("logs/build/base.log").contains("--mount=type=cache"),
        "BuildKit's steps are in the build log"
    );
}

/// `--progress plain` prints one line when each step starts and one when it finishes, with the
/// image's task name, for both builders; a step taken from the cache says so.
#[test]
fn plain_progress_prints_each_step_start_and_finish_with_the_image_name() {
    if !docker_available() {
        return;
    }
    for builder in ["buildkit", "classic"] {
        let f = StackFixture::new(&[("base", None)], "", "");
        // A step no other test has, so that it really runs (BuildKit shares its cache).
        let step = format!("RUN echo {builder}-{} > /progress", f.namespace);
        f.append("images/base/Dockerfile", &format!("{step}\n"));
        let out = f
            .test()
            .args(&["--progress", "plain", "build"])
            .env("DORUN_BUILDER", builder)
            .run();
        let lines: Vec<&str> = out.stderr.lines().collect();
        let started = lines
            .iter()
            .position(|l| l.starts_with("  build:base [") && l.ends_with(&step))
            .unwrap_or_else(|| panic!("{builder}: no start line for {step}:\n{}", out.stderr));
        let counts = lines[started]
            .trim_start_matches("  build:base ")
            .split(' ')
            .next()
            .unwrap();
        let finished = format!("  build:base {counts} done (");
        assert!(
            lines[started..].iter().any(|l| l.starts_with(&finished)),
            "{builder}: no finish line `{finished}…`:\n{}",
            out.stderr
        );
        // The busybox layer is the same in every test: some earlier build has it cached.
        f.append("images/base/Dockerfile", "RUN echo again > /again\n");
        let again = f
            .test()
            .args(&["--progress", "plain", "build"])
            .env("DORUN_BUILDER", builder)
            .run();
        assert!(
            again
                .stderr
                .lines()
                .any(|l| l.starts_with("  build:base [") && l.ends_with("] cached")),
            "{builder}: no cached step:\n{}",
            again.stderr
        );
    }
}

#[test]
fn hand_off_is_checked_when_tasks_toml_loads() {
    let f = StackFixture::new(&[("base", None)], "", "");
    stack_setting(&f, "hand-off = \"registry\"");
    f.test()
        .arg("plan")
        .status(2)
        .stderr_eq(str![[r#"
dorun: error: hand-off = "registry" needs a registry: set [stack] registry (or DORUN_REGISTRY), or use hand-off = "archive"
  --> [ROOT]/tasks.toml:2:12
    | hand-off = "registry"

"#]])
        .run();
    f.test()
        .arg("plan")
        .env("DORUN_HAND_OFF", "s3")
        .status(2)
        .stderr_contains("DORUN_HAND_OFF=`s3` is invalid: use `none`, `registry` or `archive`")
        .run();
    f.test().arg("plan").env("DORUN_HAND_OFF", "archive").run();
}

/// A `# syntax=` frontend that cannot be pulled fails that image's build (exit 1) with an error
/// that names the line and the way out.
#[test]
fn an_unpullable_syntax_frontend_fails_the_build_naming_the_line() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    let frontend = format!("127.0.0.1:5000/{}/no-such-frontend:1", f.namespace);
    let dockerfile = f.read("images/base/Dockerfile");
    f.write(
        "images/base/Dockerfile",
        &format!("# syntax={frontend}\n{dockerfile}"),
    );
    let out = f.test().arg("build").status(1).run();
    assert!(
        out.stderr.contains(&format!("`# syntax={frontend}`")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("remove the `# syntax=` line"),
        "{}",
        out.stderr
    );
    assert!(
        f.list("IMAGES_BUILT").is_empty(),
        "{:?}",
        f.list("IMAGES_BUILT")
    );
}
