//! Registry writes without an engine: an image copied from one repository to another by
//! cross-repository blob mount and a PUT of the same manifest bytes (so the digest stays the
//! same and no layer passes through the client), and small OCI artifacts (one JSON layer)
//! pushed beside an image under the referrers tag fallback (`sha256-<hex>.<suffix>`).

use sha2::{Digest as _, Sha256};

use crate::error::{DockerError, Result};
use crate::registry::{pull_scope, Parts, Registry, MANIFEST_ACCEPT};

/// The OCI image manifest media type, which artifacts are written as.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI empty descriptor's media type and content (`{}`): an artifact's config.
const EMPTY_JSON_TYPE: &str = "application/vnd.oci.empty.v1+json";
const EMPTY_JSON: &[u8] = b"{}";

/// What a manifest points at: its media type, digest and size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// A manifest exactly as the registry stores it: writing these bytes elsewhere keeps the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

/// The fields of an image manifest that name blobs (Docker schema 2 and OCI alike).
#[derive(serde::Deserialize)]
struct BlobList {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

impl Manifest {
    /// The config and every layer, config first. A manifest list (an index) names no blobs of
    /// its own and is refused: dorun's builds make single-platform images.
    pub fn blobs(&self) -> Result<Vec<Descriptor>> {
        let list: BlobList = serde_json::from_slice(&self.bytes).map_err(|e| {
            self.unreadable(format!(
                "not an image manifest ({e}); manifest lists are not supported"
            ))
        })?;
        let Some(config) = list.config else {
            return Err(self.unreadable("no config: manifest lists are not supported".into()));
        };
        Ok(std::iter::once(config).chain(list.layers).collect())
    }

    /// The config's digest: the image id an engine gives the image.
    pub fn config_digest(&self) -> Result<String> {
        Ok(self.blobs()?.remove(0).digest)
    }

    /// The first layer's descriptor (an artifact's payload).
    fn first_layer(&self) -> Result<Descriptor> {
        self.blobs()?
            .into_iter()
            .nth(1)
            .ok_or_else(|| self.unreadable("the artifact has no layer".into()))
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
        }
    }

    fn unreadable(&self, message: String) -> DockerError {
        DockerError::Registry {
            registry: String::new(),
            what: format!("reading manifest {}", self.digest),
            status: 200,
            message,
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let sum = Sha256::digest(bytes);
    let mut text = String::from("sha256:");
    for b in sum {
        text.push_str(&format!("{b:02x}"));
    }
    text
}

/// The referrers tag fallback: `sha256:ab…` → `sha256-ab….<suffix>` (OCI distribution spec).
pub fn referrers_tag(digest: &str, suffix: &str) -> String {
    format!("{}.{suffix}", digest.replacen(':', "-", 1))
}

fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

/// A `Location` header as a path on the registry (registries send a path or an absolute URL).
fn location_path(location: &str) -> Option<String> {
    location.find("/v2/").map(|i| location[i..].to_string())
}

/// `path` with one more query parameter.
fn with_query(path: &str, key: &str, value: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{key}={value}")
}

impl Registry {
    fn refused(&self, what: &str, status: u16, message: &str) -> DockerError {
        DockerError::Registry {
            registry: self.host().to_string(),
            what: what.to_string(),
            status,
            message: message.to_string(),
        }
    }

    /// The descriptor of `repo:reference` (a tag or a digest) from a HEAD, or None when absent.
    pub fn manifest_descriptor(&self, repo: &str, reference: &str) -> Result<Option<Descriptor>> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let parts = Parts {
            accept: Some(MANIFEST_ACCEPT),
            ..Parts::default()
        };
        let Some(resp) = self.send("HEAD", &path, &pull_scope(repo), &parts)? else {
            return Ok(None);
        };
        let digest = resp.header("Docker-Content-Digest").map(str::to_string);
        let size = resp.header("Content-Length").and_then(|s| s.parse().ok());
        match (digest, size) {
            (Some(digest), Some(size)) => Ok(Some(Descriptor {
                media_type: resp.content_type().to_string(),
                digest,
                size,
            })),
            _ => Err(self.refused(
                &format!("HEAD {path}"),
                resp.status(),
                "no Docker-Content-Digest or Content-Length header in the answer",
            )),
        }
    }

    /// The manifest of `repo:reference`, byte for byte, or None when absent.
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<Option<Manifest>> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let parts = Parts {
            accept: Some(MANIFEST_ACCEPT),
            ..Parts::default()
        };
        let Some(resp) = self.send("GET", &path, &pull_scope(repo), &parts)? else {
            return Ok(None);
        };
        let media_type = resp.content_type().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes)
            .map_err(|e| self.refused(&format!("GET {path}"), 200, &e.to_string()))?;
        Ok(Some(Manifest {
            media_type,
            digest: sha256_digest(&bytes),
            bytes,
        }))
    }

    /// Stores `manifest`'s bytes as `repo:tag`; returns the digest the registry reports.
    pub fn put_manifest(&self, repo: &str, tag: &str, manifest: &Manifest) -> Result<String> {
        let path = format!("/v2/{repo}/manifests/{tag}");
        let parts = Parts {
            content_type: Some(&manifest.media_type),
            body: Some(&manifest.bytes),
            ..Parts::default()
        };
        let what = format!("PUT {path}");
        let resp = self
            .send("PUT", &path, &push_scope(repo), &parts)?
            .ok_or_else(|| self.refused(&what, 404, "the registry does not know the repository"))?;
        Ok(resp
            .header("Docker-Content-Digest")
            .map_or_else(|| manifest.digest.clone(), str::to_string))
    }

    /// Makes blob `digest` of repository `from` part of `repo` without moving its bytes. A
    /// registry that cannot mount (it answers with an upload session instead) is an error:
    /// the bytes would have to pass through here.
    pub fn mount_blob(&self, repo: &str, digest: &str, from: &str) -> Result<()> {
        let path = format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from}");
        let scope = format!("{} {}", push_scope(repo), pull_scope(from));
        let what = format!("POST {path}");
        let resp = self
            .send("POST", &path, &scope, &Parts::default())?
            .ok_or_else(|| self.refused(&what, 404, "the registry does not know the repository"))?;
        if resp.status() == 201 {
            return Ok(());
        }
        // 202: an upload was started instead; cancel it so it does not linger.
        if let Some(session) = resp.header("Location").and_then(location_path) {
            let _ = self.send("DELETE", &session, &push_scope(repo), &Parts::default());
        }
        Err(self.refused(
            &what,
            resp.status(),
            &format!("the registry could not mount {digest} from {from}"),
        ))
    }

    /// Uploads `bytes` as a blob of `repo` in one request (unless it is there already);
    /// returns its digest.
    pub fn upload_blob(&self, repo: &str, bytes: &[u8]) -> Result<String> {
        let digest = sha256_digest(bytes);
        let head = format!("/v2/{repo}/blobs/{digest}");
        if self
            .send("HEAD", &head, &push_scope(repo), &Parts::default())?
            .is_some()
        {
            return Ok(digest);
        }
        let start = format!("/v2/{repo}/blobs/uploads/");
        let what = format!("POST {start}");
        let resp = self
            .send("POST", &start, &push_scope(repo), &Parts::default())?
            .ok_or_else(|| self.refused(&what, 404, "the registry does not know the repository"))?;
        let session = resp
            .header("Location")
            .and_then(location_path)
            .ok_or_else(|| {
                self.refused(&what, resp.status(), "no upload Location in the answer")
            })?;
        let put = with_query(&session, "digest", &digest);
        let parts = Parts {
            content_type: Some("application/octet-stream"),
            body: Some(bytes),
            ..Parts::default()
        };
        self.send("PUT", &put, &push_scope(repo), &parts)?
            .ok_or_else(|| self.refused("PUT (blob upload)", 404, "the upload session is gone"))?;
        Ok(digest)
    }

    /// The bytes of blob `digest` of `repo`, or None when absent.
    pub fn blob(&self, repo: &str, digest: &str) -> Result<Option<Vec<u8>>> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let Some(resp) = self.send("GET", &path, &pull_scope(repo), &Parts::default())? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes)
            .map_err(|e| self.refused(&format!("GET {path}"), 200, &e.to_string()))?;
        if sha256_digest(&bytes) != digest {
            return Err(self.refused(
                &format!("GET {path}"),
                200,
                "the blob's bytes do not match its digest",
            ));
        }
        Ok(Some(bytes))
    }

    /// Copies `manifest` (read from repository `from`) into `repo` under each of `tags`, in
    /// order: its blobs mounted from `from` first, then the same bytes PUT under each tag.
    /// Returns the digest of each tag as the registry reported it.
    pub fn copy_manifest(
        &self,
        manifest: &Manifest,
        from: &str,
        repo: &str,
        tags: &[&str],
    ) -> Result<Vec<String>> {
        if from != repo {
            for blob in manifest.blobs()? {
                self.mount_blob(repo, &blob.digest, from)?;
            }
        }
        tags.iter()
            .map(|tag| self.put_manifest(repo, tag, manifest))
            .collect()
    }

    /// Pushes a one-layer OCI artifact to `repo:tag`: config the empty JSON descriptor, its
    /// layer `payload` of media type `artifact_type`, pointing at `subject` when given.
    /// Returns the artifact manifest's digest.
    pub fn push_artifact(
        &self,
        repo: &str,
        tag: &str,
        artifact_type: &str,
        payload: &[u8],
        subject: Option<&Descriptor>,
    ) -> Result<String> {
        let config = Descriptor {
            media_type: EMPTY_JSON_TYPE.into(),
            digest: self.upload_blob(repo, EMPTY_JSON)?,
            size: EMPTY_JSON.len() as u64,
        };
        let layer = Descriptor {
            media_type: artifact_type.into(),
            digest: self.upload_blob(repo, payload)?,
            size: payload.len() as u64,
        };
        let bytes = artifact_manifest(artifact_type, &config, &layer, subject);
        let manifest = Manifest {
            media_type: OCI_MANIFEST.into(),
            digest: sha256_digest(&bytes),
            bytes,
        };
        self.put_manifest(repo, tag, &manifest)
    }

    /// The payload of the one-layer artifact at `repo:tag`, or None when there is none.
    pub fn artifact(&self, repo: &str, tag: &str) -> Result<Option<Vec<u8>>> {
        let Some(manifest) = self.manifest(repo, tag)? else {
            return Ok(None);
        };
        let layer = manifest.first_layer()?;
        self.blob(repo, &layer.digest)
    }
}

/// The artifact's manifest bytes (OCI image manifest with `artifactType` and `subject`).
fn artifact_manifest(
    artifact_type: &str,
    config: &Descriptor,
    layer: &Descriptor,
    subject: Option<&Descriptor>,
) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": config,
        "layers": [layer],
    });
    if let Some(s) = subject {
        m["subject"] = serde_json::to_value(s).expect("a descriptor is JSON");
    }
    serde_json::to_vec(&m).expect("a manifest is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_of_the_bytes() {
        // The OCI empty descriptor's well-known digest.
        assert_eq!(
            sha256_digest(EMPTY_JSON),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn referrers_tag_replaces_the_algorithm_colon() {
        assert_eq!(referrers_tag("sha256:ab12", "test"), "sha256-ab12.test");
    }

    #[test]
    fn locations_become_paths_with_one_more_query_parameter() {
        let abs = "http://127.0.0.1:5000/v2/ns/a/blobs/uploads/u1?_state=x";
        let path = location_path(abs).unwrap();
        assert_eq!(path, "/v2/ns/a/blobs/uploads/u1?_state=x");
        assert_eq!(
            with_query(&path, "digest", "sha256:1"),
            "/v2/ns/a/blobs/uploads/u1?_state=x&digest=sha256:1"
        );
        assert_eq!(with_query("/v2/u", "digest", "d"), "/v2/u?digest=d");
        assert_eq!(location_path("/elsewhere"), None);
    }

    #[test]
    fn an_image_manifest_names_its_config_then_its_layers() {
        let bytes = br#"{"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:c","size":1},
            "layers":[{"mediaType":"l","digest":"sha256:l1","size":2},{"mediaType":"l","digest":"sha256:l2","size":3}]}"#;
        let m = Manifest {
            media_type: OCI_MANIFEST.into(),
            digest: sha256_digest(bytes),
            bytes: bytes.to_vec(),
        };
        let digests: Vec<String> = m.blobs().unwrap().into_iter().map(|d| d.digest).collect();
        assert_eq!(digests, ["sha256:c", "sha256:l1", "sha256:l2"]);
        assert_eq!(m.config_digest().unwrap(), "sha256:c");
        let index = Manifest {
            bytes: br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(),
            ..m
        };
        assert!(index
            .blobs()
            .unwrap_err()
            .to_string()
            .contains("manifest lists"));
    }

    #[test]
    fn an_artifact_points_at_its_subject() {
        let d = |t: &str| Descriptor {
            media_type: t.into(),
            digest: format!("sha256:{t}"),
            size: 1,
        };
        let bytes = artifact_manifest("application/x", &d("c"), &d("l"), Some(&d("s")));
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["artifactType"], "application/x");
        assert_eq!(v["layers"][0]["digest"], "sha256:l");
        assert_eq!(v["subject"]["digest"], "sha256:s");
        assert_eq!(v["mediaType"], OCI_MANIFEST);
    }
}
