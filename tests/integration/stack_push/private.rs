//! Pushes to a registry of the test's own (`local_registry`): htpasswd basic auth with the
//! password never shown or written, and a registry that goes away before or during a run.
use super::local_registry::{registry_binary_available, LocalRegistry};
use super::{check_pushed, PAIR};
use crate::harness::Output;
use crate::stack_fixture::{docker_available, StackFixture};
use dorun_docker::{Credentials, Registry};

/// No byte of `secret` in the output nor in any file of the project (artifacts, logs, state,
/// manifests) or of the home dorun ran with.
fn assert_secret_nowhere(f: &StackFixture, out: &Output, secret: &str) {
    assert!(
        !out.all().contains(secret),
        "secret printed:\n{}",
        out.all()
    );
    let mut stack = vec![f.path(), f.home().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!found, "secret written to {}", path.display());
            }
        }
    }
}

#[test]
fn basic_auth_right_password_pushes_wrong_one_fails_and_neither_is_ever_shown() {
    if !docker_available() || !registry_binary_available() {
        return;
    }
    let password = format!("Pa55-right-{}", std::process::id());
    let wrong = format!("Pa55-wrong-{}", std::process::id());
    let private = LocalRegistry::start(Some(("dorun", &password)));
    let f = StackFixture::new(&[("base", None)], &private.host, "");
    let user = ("DORUN_REGISTRY_USER", "dorun");

    // A wrong password: the registry refuses it before any task runs (preflight, exit 3).
    let out = f
        .test()
        .arg("push")
        .env(user.0, user.1)
        .env("DORUN_REGISTRY_PASSWORD", &wrong)
        .status(3)
        .run();
    let text = out.all();
    assert!(
        text.contains(&format!(
            "registry {} rejected the credentials of user `dorun`",
            private.host
        )),
        "{text}"
    );
    assert!(
        text.contains("DORUN_REGISTRY_PASSWORD"),
        "says how to fix it: {text}"
    );
    assert_secret_nowhere(&f, &out, &wrong);

    // No credentials at all (an empty docker config).
    let empty = tempfile::tempdir().unwrap();
    let config = empty.path().to_str().unwrap();
    let out = f
        .test()
        .arg("push")
        .env("DOCKER_CONFIG", config)
        .status(3)
        .run();
    assert!(
        out.all().contains("requires authentication"),
        "{}",
        out.all()
    );
    // Nor in the harness's scrubbed environment, whatever the machine's own user has.
    let out = f.test().arg("push").status(3).run();
    assert!(
        out.all().contains("requires authentication"),
        "{}",
        out.all()
    );

    // The right password pushes; it appears nowhere either.
    let out = f
        .test()
        .arg("push")
        .env(user.0, user.1)
        .env("DORUN_REGISTRY_PASSWORD", &password)
        .run();
    let reg = Registry::new(&private.host, Some(Credentials::new("dorun", &password)));
    let expected = check_pushed(&reg, &private.host, &f, "base", "t1");
    assert_eq!(f.list("IMAGES_PUSHED"), expected);
    assert_secret_nowhere(&f, &out, &password);

    // The same user from ~/.docker/config.json (DOCKER_CONFIG) works too.
    let docker_config = tempfile::tempdir().unwrap();
    let auth = base64(&format!("dorun:{password}"));
    std::fs::write(
        docker_config.path().join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            private.host
        ),
    )
    .unwrap();
    let config = docker_config.path().to_str().unwrap();
    let out = f
        .test()
        .args(&["-B", "push"])
        .env("DOCKER_CONFIG", config)
        .run();
    assert_eq!(f.ran("push:"), ["push:base"]);
    assert_secret_nowhere(&f, &out, &password);
}

#[test]
fn registry_gone_before_push_exits_3_gone_mid_run_exits_1_and_a_resume_completes() {
    if !docker_available() || !registry_binary_available() {
        return;
    }
    let mut private = LocalRegistry::start(None);
    let f = StackFixture::new(PAIR, &private.host, "");
    f.test().arg("build").run();
    let unreachable = format!("cannot reach registry {}", private.host);

    // Gone before the run: the preflight check stops dorun before any task (exit 3).
    private.stop();
    let out = f.test().arg("push").status(3).run();
    assert!(out.all().contains(&unreachable), "{}", out.all());
    assert!(f.list("IMAGES_PUSHED").is_empty());

    // Gone mid-run: a task between the tests and the pushes stops it. The pushes fail with
    // the registry named (exit 1) and IMAGES_PUSHED lists nothing that was not pushed.
    private.restart();
    let tasks = f.read("tasks.toml");
    let push = r#"push = { builtin = "images-push", deps = ["test", "manifest"] }"#;
    assert!(tasks.contains(push), "{tasks}");
    let stopping = tasks.replace(
        push,
        r#"push = { builtin = "images-push", deps = ["test", "manifest", "stop-registry"] }"#,
    ) + &format!(
        "\n[tasks.stop-registry]\ndeps = [\"test\", \"manifest\"]\nrun = [\"kill {}\"]\n",
        private.pid()
    );
    f.write("tasks.toml", &stopping);
    let out = f.test().arg("push").status(1).run();
    let text = out.all();
    assert!(text.contains(&unreachable), "{text}");
    assert!(
        f.list("IMAGES_PUSHED").is_empty(),
        "{:?}",
        f.list("IMAGES_PUSHED")
    );

    // Back again: the resumed run ends with what one uninterrupted run writes.
    f.write("tasks.toml", &tasks);
    private.restart();
    f.test().arg("push").run();
    let reg = Registry::new(&private.host, None);
    let mut expected = check_pushed(&reg, &private.host, &f, "base", "t1");
    expected.extend(check_pushed(&reg, &private.host, &f, "child", "t1"));
    assert_eq!(f.list("IMAGES_PUSHED"), expected);
}

/// Standard base64, for a docker config's `auth` field.
fn base64(text: &str) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_standard() {
    assert_eq!(base64("dorun:pw"), "ZG9ydW46cHc=");
    assert_eq!(base64("ab"), "YWI=");
    assert_eq!(base64("abc"), "YWJj");
}
