//! Push and registry queries against real `docker-registry` processes: plain, htpasswd
//! (bcrypt), and unreachable.

mod common;

use common::{Images, RegistryProc};
use dorun_docker::{Credentials, DockerError, Engine, Registry};

const USER: &str = "dorun";
const PASSWORD: &str = "Corr3ct-H0rse-Battery";
const WRONG: &str = "Wr0ng-Pa55w0rd-Staple";

/// Builds a busybox image and tags it into `registry` as `dorun-docker-test/<name>:<tag>`.
fn image_in(images: &mut Images, registry: &str, name: &str, tag: &str) -> String {
    let local = common::busybox_image(images, name, &format!("LABEL variant={name}\n"));
    let remote = images.track(&format!("{registry}/dorun-docker-test/{name}:{tag}"));
    images.engine.tag_reference(&local, &remote).unwrap();
    remote
}

#[test]
fn push_to_plain_registry_and_read_it_back() {
    let Some(engine) = common::engine() else {
        return;
    };
    let registry = RegistryProc::start(None);
    let host = registry.host();
    let mut images = Images::new(&engine);
    let reference = image_in(&mut images, &host, "plain", "t1");

    let mut lines = Vec::new();
    let digest = engine
        .push_with(&reference, None, &mut |l| lines.push(l.to_string()))
        .unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert!(lines.iter().any(|l| l.contains(&digest)), "{lines:#?}");

    let client = Registry::new(&host, None);
    client.ping().unwrap();
    let repo = "dorun-docker-test/plain";
    assert_eq!(
        client.manifest_digest(repo, "t1").unwrap(),
        Some(digest.clone())
    );
    assert_eq!(client.manifest_digest(repo, "absent").unwrap(), None);
    assert_eq!(
        client
            .manifest_digest("dorun-docker-test/nothing", "t1")
            .unwrap(),
        None
    );
    assert_eq!(client.tags(repo).unwrap(), ["t1"]);
    assert!(client.tags("dorun-docker-test/nothing").unwrap().is_empty());
    // Many at once, answered in the order asked, over a few kept-alive connections.
    let mut many = vec![(repo, "absent"); 20];
    many[7] = (repo, "t1");
    many[19] = ("dorun-docker-test/nothing", "t1");
    let answers = client.manifest_digests(&many).unwrap();
    assert_eq!(answers.len(), 20);
    for (i, answer) in answers.iter().enumerate() {
        let expected = (i == 7).then(|| digest.clone());
        assert_eq!(answer, &expected, "answer {i}");
    }

    // Re-pushing the same image under a second tag gives the same digest.
    let second = images.track(&format!("{host}/{repo}:t2"));
    engine.tag_reference(&reference, &second).unwrap();
    assert_eq!(engine.push(&second, None).unwrap(), digest);
    let mut tags = client.tags(repo).unwrap();
    tags.sort();
    assert_eq!(tags, ["t1", "t2"]);
    assert!(engine
        .image_config(&reference)
        .unwrap()
        .repo_digests
        .iter()
        .any(|d| d.ends_with(&digest)));
}

#[test]
fn push_with_htpasswd_credentials() {
    let Some(engine) = common::engine() else {
        return;
    };
    let registry = RegistryProc::start(Some((USER, PASSWORD)));
    let host = registry.host();
    let mut images = Images::new(&engine);
    let reference = image_in(&mut images, &host, "auth", "v1");
    let repo = "dorun-docker-test/auth";

    // Wrong password: fails at once, clearly, and without the password anywhere.
    let wrong = Credentials::new(USER, WRONG);
    let start = std::time::Instant::now();
    let err = engine.push(&reference, Some(&wrong)).unwrap_err();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "auth errors are not retried"
    );
    assert_secret_free(&err, WRONG);
    assert!(matches!(err, DockerError::Auth { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&host) && text.contains(USER), "{text}");
    assert!(!err.is_environment());

    let err = Registry::new(&host, Some(wrong.clone()))
        .manifest_digest(repo, "v1")
        .unwrap_err();
    assert!(matches!(err, DockerError::Auth { .. }), "{err:?}");
    assert_secret_free(&err, WRONG);

    // No credentials at all: the registry asks for some.
    let err = Registry::new(&host, None).tags(repo).unwrap_err();
    assert!(
        matches!(err, DockerError::Auth { user: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("DORUN_REGISTRY_USER"), "{err}");

    // Right password: push works and the registry shows the same digest.
    let right = Credentials::new(USER, PASSWORD);
    let digest = engine.push(&reference, Some(&right)).unwrap();
    let client = Registry::new(&host, Some(right));
    assert_eq!(client.manifest_digest(repo, "v1").unwrap(), Some(digest));
    assert_eq!(client.tags(repo).unwrap(), ["v1"]);
}

#[test]
fn unreachable_registry_is_an_environment_error() {
    let Some(engine) = common::engine() else {
        return;
    };
    let host = format!("127.0.0.1:{}", common::free_port());
    let creds = Credentials::new(USER, PASSWORD);

    let err = Registry::new(&host, Some(creds.clone()))
        .manifest_digest("dorun-docker-test/x", "t")
        .unwrap_err();
    assert!(
        matches!(err, DockerError::RegistryUnreachable { .. }),
        "{err:?}"
    );
    assert!(err.is_environment());
    assert!(err.to_string().contains(&host), "{err}");
    assert_secret_free(&err, PASSWORD);

    let mut images = Images::new(&engine);
    let reference = image_in(&mut images, &host, "unreachable", "t");
    let start = std::time::Instant::now();
    let err = engine.push(&reference, Some(&creds)).unwrap_err();
    assert!(
        matches!(err, DockerError::RegistryUnreachable { .. }),
        "{err:?}"
    );
    assert!(err.is_environment());
    assert_secret_free(&err, PASSWORD);
    // Retried with backoff (0.5 + 1 + 2 s), but bounded.
    let took = start.elapsed();
    assert!(took >= std::time::Duration::from_millis(3400), "{took:?}");
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
}

#[test]
fn pushing_a_missing_image_fails_without_retrying() {
    let Some(engine) = common::engine() else {
        return;
    };
    let registry = RegistryProc::start(None);
    let reference = format!("{}/dorun-docker-test/missing:never-built", registry.host());
    let start = std::time::Instant::now();
    let err = engine.push(&reference, None).unwrap_err();
    assert!(
        matches!(
            err,
            DockerError::ImageNotFound { .. } | DockerError::PushFailed { .. }
        ),
        "{err:?}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(3));
    let _ = Engine::live_containers();
}

fn assert_secret_free(err: &DockerError, secret: &str) {
    eprintln!("error as the user sees it: {err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(secret), "secret leaked: {text}");
}

#[test]
fn a_buildkit_build_pulls_from_a_private_registry_with_the_requests_credentials() {
    let Some(engine) = common::engine() else {
        return;
    };
    let registry = RegistryProc::start(Some((USER, PASSWORD)));
    let host = registry.host();
    let mut images = Images::new(&engine);
    let parent = image_in(&mut images, &host, "private-parent", "v1");
    engine
        .push(&parent, Some(&Credentials::new(USER, PASSWORD)))
        .unwrap();
    // Only the registry has it under this name now: the build must pull it.
    engine.remove_image(&parent, false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {parent}\nRUN echo child > /child\n"),
    )
    .unwrap();
    let child = images.track(&common::unique_ref("private-child"));
    let mut req = common::request(dir.path(), &child);
    req.builder = dorun_docker::Builder::BuildKit;

    let (anonymous, _) = common::build(&engine, &req);
    let refused = anonymous
        .expect_err("pulled without credentials")
        .to_string();
    assert!(refused.contains("401 Unauthorized"), "{refused}");

    req.registry_auth = Some((host.clone(), Credentials::new(USER, PASSWORD)));
    let (result, events) = common::build(&engine, &req);
    result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    let seen = engine.stat_path(&child, "/child").unwrap().expect("/child");
    assert_eq!(seen.contents.as_deref(), Some(&b"child\n"[..]));
    let log = format!("{events:?}");
    assert!(
        !log.contains(PASSWORD),
        "the password reached the build output"
    );
    assert!(!format!("{req:?}").contains(PASSWORD));

    // A build with secrets runs over dorun's own session, which must serve the credentials too.
    engine.remove_image(&child, false).unwrap();
    engine.remove_image(&parent, false).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {parent}\nRUN --mount=type=secret,id=tok,required=true \
             wc -c < /run/secrets/tok > /tok-length\n"
        ),
    )
    .unwrap();
    req.secrets = vec![dorun_docker::BuildSecret {
        id: "tok".into(),
        value: dorun_docker::SecretValue::new(b"12345".to_vec()),
    }];
    let (result, events) = common::build(&engine, &req);
    result.unwrap_or_else(|e| panic!("with a secret: {e}\n{events:#?}"));
    let length = engine
        .stat_path(&child, "/tok-length")
        .unwrap()
        .expect("/tok-length");
    assert_eq!(length.contents.as_deref(), Some(&b"5\n"[..]));
}
