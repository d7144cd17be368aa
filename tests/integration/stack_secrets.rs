//! Build secrets (`[stack.secrets.<id>]`) against the real engine: `RUN --mount=type=secret`
//! reads one secret from the environment and one from a file; neither value is then anywhere
//! (image export, history, logs, artifacts, manifests, state, dorun's output); a new value
//! alone leaves the image up to date; a missing source is exit 2 before anything builds.
use crate::stack_fixture::{docker_available, StackFixture};
use futures_util::StreamExt;
use std::path::Path;

const SECRETS_TOML: &str = "\n[stack.secrets.tok]\nenv = \"DORUN_TEST_TOK\"\n\
                            [stack.secrets.npmrc]\nfile = \"secrets/npmrc\"\n";

/// The image as `docker save` writes it (every layer and the config).
fn export(image: &str) -> Vec<u8> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = bollard::Docker::connect_with_local_defaults().unwrap();
        let mut stream = docker.export_image(image);
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    })
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Files under `root` (but `except`) that contain `needle`.
fn files_containing(root: &Path, needle: &str, except: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path() != except)
        .filter(|e| std::fs::read(e.path()).is_ok_and(|b| contains(&b, needle)))
        .map(|e| e.path().display().to_string())
        .collect()
}

#[test]
fn secrets_are_read_during_run_and_found_nowhere_afterwards() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", SECRETS_TOML);
    let tok = format!("tok-value-{}", f.namespace);
    let npmrc = format!("npmrc-value-{}", f.namespace);
    f.write("secrets/npmrc", &npmrc);
    // The step prints both values (the log must mask them) and keeps only their lengths. It
    // names this test's namespace: BuildKit's cache key leaves secrets out, so the same step of
    // another test (with values of another length) would otherwise be taken from the cache.
    f.append(
        "images/base/Dockerfile",
        &format!(
            "RUN --mount=type=secret,id=tok,required=true --mount=type=secret,id=npmrc,required=true \
             echo {} > /ns && echo \"tok=$(cat /run/secrets/tok) npmrc=$(cat /run/secrets/npmrc)\" \
             && wc -c < /run/secrets/tok > /tok-length && wc -c < /run/secrets/npmrc > /npmrc-length\n",
            f.namespace
        ),
    );
    let out = f
        .test()
        .args(&["-v", "--progress", "plain", "build"])
        .env("DORUN_TEST_TOK", &tok)
        .run();
    assert_eq!(f.ran("build:"), ["build:base"]);
    let image = f.list("IMAGES_BUILT")[0].clone();
    let engine = dorun_docker::Engine::connect().unwrap();
    for (file, value) in [("/tok-length", &tok), ("/npmrc-length", &npmrc)] {
        let stored = engine.stat_path(&image, file).unwrap().expect(file);
        let stored = String::from_utf8(stored.contents.unwrap()).unwrap();
        assert_eq!(stored.trim(), value.len().to_string(), "{file}");
    }
    let log = f.read("logs/build/base.log");
    assert!(
        log.contains("tok=*** npmrc=***"),
        "masked in the log:\n{log}"
    );

    let history = format!("{:?}", engine.history(&image).unwrap());
    let exported = export(&image);
    assert!(exported.len() > 1000, "the export holds the image");
    let secret_file = f.join("secrets/npmrc");
    for value in [&tok, &npmrc] {
        assert!(!contains(&exported, value), "{value} in the image export");
        assert!(!history.contains(value.as_str()), "{value} in the history");
        assert!(!out.stdout.contains(value.as_str()) && !out.stderr.contains(value.as_str()));
        // logs/, artifacts/ (run.json, build records), manifests/, .dorun/: the project.
        let found = files_containing(&f.path(), value, &secret_file);
        assert!(found.is_empty(), "{value} found in {found:?}");
    }

    // New values alone: the image is up to date, as with `docker build`.
    f.write("secrets/npmrc", "another npmrc value");
    f.test()
        .arg("build")
        .env("DORUN_TEST_TOK", "another token")
        .run();
    assert!(f.ran("build:").is_empty(), "rebuilt for a new secret value");
}

#[test]
fn a_missing_secret_source_is_exit_2_before_anything_builds() {
    let f = StackFixture::new(&[("base", None)], "", SECRETS_TOML);
    f.write("secrets/npmrc", "npmrc value");
    let no_build = |f: &StackFixture| {
        assert!(
            !f.exists("artifacts/run.json") && !f.exists("logs/build/base.log"),
            "something ran"
        );
    };
    f.test()
        .arg("build")
        .status(2)
        .stderr_contains("build secret `tok`: environment variable `DORUN_TEST_TOK` is not set")
        .stderr_contains("tasks.toml:")
        .run();
    no_build(&f);
    f.remove("secrets/npmrc");
    f.test()
        .arg("build")
        .env("DORUN_TEST_TOK", "set")
        .status(2)
        .stderr_contains("build secret `npmrc`: cannot read file `secrets/npmrc`")
        .stderr_lacks("set")
        .run();
    no_build(&f);
    // Commands that build nothing do not need the values.
    f.test().arg("list").run();
}

#[test]
fn a_secret_with_both_or_neither_source_is_exit_2_where_it_is_written() {
    let f = StackFixture::new(
        &[("base", None)],
        "",
        "\n[stack.secrets.tok]\nenv = \"A\"\nfile = \"b\"\n",
    );
    f.test()
        .arg("list")
        .status(2)
        .stderr_contains("[stack.secrets.tok] has both `env` and `file`: keep one")
        .run();
    let f = StackFixture::new(
        &[("base", None)],
        "",
        "\n[stack.secrets.tok]\nvalue = \"x\"\n",
    );
    f.test()
        .arg("list")
        .status(2)
        .stderr_contains("[stack.secrets.tok] needs `env = \"VARIABLE\"` or `file = \"path\"`")
        .run();
    // An unknown key warns, as in any other table.
    let f = StackFixture::new(
        &[("base", None)],
        "",
        "\n[stack.secrets.tok]\nenv = \"A\"\nfiles = \"x\"\n",
    );
    f.test()
        .arg("list")
        .stderr_contains(
            "unknown key `files` in [stack.secrets.tok] (ignored, did you mean `file`?)",
        )
        .run();
}
