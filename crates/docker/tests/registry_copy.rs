//! Promotion and artifacts against real `docker-registry` processes: an image pushed to a
//! staging repository copied to a release repository by blob mount with the same digest and
//! pulled back by an engine, and a one-layer artifact under the referrers tag fallback; with
//! htpasswd credentials too.

mod common;

use common::{Images, RegistryProc};
use dorun_docker::{referrers_tag, Credentials, Registry};

const USER: &str = "dorun";
const PASSWORD: &str = "Corr3ct-H0rse-Battery";
const RESULTS: &str = "application/vnd.dorun.test-results.v1+json";

/// Pushes a busybox image as `<host>/staging/<name>:id-1`; returns (reference, digest).
fn staged(
    images: &mut Images,
    host: &str,
    name: &str,
    creds: Option<&Credentials>,
) -> (String, String) {
    let local = common::busybox_image(images, name, &format!("LABEL variant={name}\n"));
    let reference = images.track(&format!("{host}/staging/{name}:id-1"));
    images.engine.tag_reference(&local, &reference).unwrap();
    let digest = images.engine.push(&reference, creds).unwrap();
    (reference, digest)
}

fn promote_and_attach(host: &str, creds: Option<Credentials>) {
    let Some(engine) = common::engine() else {
        return;
    };
    let name = format!("copy{}", std::process::id());
    let mut images = Images::new(&engine);
    let (_, digest) = staged(&mut images, host, &name, creds.as_ref());
    let client = Registry::new(host, creds.clone());
    let (staging, release) = (format!("staging/{name}"), format!("release/{name}"));

    // The test results, attached to the staged digest.
    let subject = client
        .manifest_descriptor(&staging, "id-1")
        .unwrap()
        .unwrap();
    assert_eq!(subject.digest, digest);
    let tag = referrers_tag(&digest, "test");
    let payload = br#"{"passed":true}"#;
    let artifact = client
        .push_artifact(&staging, &tag, RESULTS, payload, Some(&subject))
        .unwrap();
    assert!(artifact.starts_with("sha256:"), "{artifact}");
    assert_eq!(client.artifact(&staging, &tag).unwrap().unwrap(), payload);
    assert_eq!(client.artifact(&staging, "sha256-0.test").unwrap(), None);
    // Pushing the same results again is harmless (the blobs are there already).
    client
        .push_artifact(&staging, &tag, RESULTS, payload, Some(&subject))
        .unwrap();

    // Promotion: every tag has the staged digest, and the release repository serves the image.
    let manifest = client.manifest(&staging, "id-1").unwrap().unwrap();
    assert_eq!(manifest.digest, digest);
    let digests = client
        .copy_manifest(&manifest, &staging, &release, &["id-1", "1-abc", "stable"])
        .unwrap();
    assert_eq!(digests, [digest.clone(), digest.clone(), digest.clone()]);
    for tag in ["id-1", "1-abc", "stable"] {
        assert_eq!(
            client.manifest_digest(&release, tag).unwrap().as_deref(),
            Some(digest.as_str())
        );
    }
    let config = manifest.config_digest().unwrap();
    assert!(client.blob(&release, &config).unwrap().is_some());

    // An engine pulls the promoted image: its id is the manifest's config digest.
    let pulled = images.track(&format!("{host}/{release}:1-abc"));
    engine
        .pull_with(&pulled, creds.as_ref(), &mut |_| {})
        .unwrap();
    assert_eq!(engine.image_id(&pulled).unwrap(), Some(config));

    // A blob the source repository does not have cannot be mounted: an error, no upload left.
    let missing = format!("sha256:{}", "0".repeat(64));
    let err = client.mount_blob(&release, &missing, &staging).unwrap_err();
    assert!(err.to_string().contains("could not mount"), "{err}");
}

#[test]
fn a_staged_image_is_promoted_by_mount_and_its_results_travel_as_an_artifact() {
    let registry = RegistryProc::start(None);
    promote_and_attach(&registry.host(), None);
}

#[test]
fn promotion_and_artifacts_with_credentials() {
    let registry = RegistryProc::start(Some((USER, PASSWORD)));
    promote_and_attach(&registry.host(), Some(Credentials::new(USER, PASSWORD)));
}
