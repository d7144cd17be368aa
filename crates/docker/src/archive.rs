//! Image archives, the engine's `docker save` / `docker load`: an image streamed out under the
//! tags it should come back with (`GET /images/get`), a tar file streamed back in
//! (`POST /images/load`), and the tags an archive holds, read from its `manifest.json`.

use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::ImportImageOptions;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use crate::engine::Engine;
use crate::error::{DockerError, Result};

/// The engine answers an export only once it has written the whole image out (and a load only
/// once the whole tar is uploaded): the per-request deadline would cut large images short.
/// Archives are bounded by the task's own timeout instead.
const ARCHIVE_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// How much of an archive is read per chunk of the upload.
const LOAD_CHUNK: usize = 256 * 1024;

/// The archive's table of contents, written by every engine since 1.10.
const MANIFEST: &str = "manifest.json";

impl Engine {
    /// Streams the image named by `references` (the tags one image should be restored under)
    /// into `sink` as the engine's image export: a tar whose `manifest.json` lists those tags.
    /// A reference the engine lacks is [`DockerError::ImageNotFound`]. Returns the bytes written.
    pub fn export_image(&self, references: &[&str], sink: &mut dyn Write) -> Result<u64> {
        let client = self.docker.clone().with_timeout(ARCHIVE_REQUEST_TIMEOUT);
        let mut written = 0u64;
        self.block_on(async {
            let mut tar = Box::pin(client.export_images(references));
            while let Some(chunk) = tar.next().await {
                let chunk = chunk
                    .map_err(|e| self.image_err(&references.join(" "), "exporting an image", e))?;
                sink.write_all(&chunk).map_err(|e| DockerError::Archive {
                    action: "write the image archive".into(),
                    detail: e.to_string(),
                })?;
                written += chunk.len() as u64;
            }
            Ok(written)
        })
    }

    /// Loads the image archive at `path` into the engine (streamed, never whole in memory),
    /// which restores the tags its `manifest.json` lists. Returns the references the engine
    /// reported loading. A torn or foreign file is the engine's refusal ([`DockerError::Engine`]).
    pub fn load_image(&self, path: &Path) -> Result<Vec<String>> {
        let unreadable = |e: std::io::Error| DockerError::Archive {
            action: format!("read {}", path.display()),
            detail: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let client = self.docker.clone().with_timeout(ARCHIVE_REQUEST_TIMEOUT);
        self.block_on(async {
            let body = futures_util::stream::try_unfold(
                tokio::fs::File::from_std(file),
                |mut file| async move {
                    let mut chunk = bytes::BytesMut::with_capacity(LOAD_CHUNK);
                    let n = file.read_buf(&mut chunk).await?;
                    Ok::<_, std::io::Error>((n > 0).then(|| (chunk.freeze(), file)))
                },
            );
            let options = ImportImageOptions {
                quiet: true,
                platform: None,
            };
            let mut answers =
                Box::pin(client.import_image(options, bollard::body_try_stream(body), None));
            let mut loaded = Vec::new();
            while let Some(answer) = answers.next().await {
                let answer = answer.map_err(|e| self.err("loading an image archive", e))?;
                if let Some(message) = answer.error {
                    return Err(DockerError::Engine {
                        action: "loading an image archive".into(),
                        message,
                    });
                }
                let text = answer.stream.unwrap_or_default();
                loaded.extend(text.lines().filter_map(loaded_reference));
            }
            Ok(loaded)
        })
    }
}

/// `Loaded image: ns/name:tag` (or `Loaded image ID: sha256:…` for an untagged image): what
/// the engine says per image it loaded.
fn loaded_reference(line: &str) -> Option<String> {
    let line = line.trim();
    line.strip_prefix("Loaded image: ")
        .or_else(|| line.strip_prefix("Loaded image ID: "))
        .map(str::to_string)
}

/// The tags (`RepoTags`) of every image in the archive at `path`, from its `manifest.json`;
/// the layers are skipped, not read. A file that is not a complete image archive (torn, no
/// manifest, unreadable) is [`DockerError::Archive`].
pub fn archive_tags(path: &Path) -> Result<Vec<String>> {
    let bad = |detail: String| DockerError::Archive {
        action: format!("read the image archive {}", path.display()),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let manifest = read_manifest(file).map_err(|e| bad(e.to_string()))?;
    let Some(manifest) = manifest else {
        return Err(bad(format!("no {MANIFEST} in it")));
    };
    #[derive(serde::Deserialize)]
    struct Image {
        #[serde(rename = "RepoTags", default)]
        repo_tags: Option<Vec<String>>,
    }
    let images: Vec<Image> =
        serde_json::from_slice(&manifest).map_err(|e| bad(format!("{MANIFEST}: {e}")))?;
    Ok(images
        .into_iter()
        .flat_map(|i| i.repo_tags.unwrap_or_default())
        .collect())
}

/// The bytes of the archive's top-level `manifest.json`, seeking past every other entry.
fn read_manifest(file: impl Read + Seek) -> std::io::Result<Option<Vec<u8>>> {
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries_with_seek()? {
        let mut entry = entry?;
        if entry.path()?.as_os_str() == MANIFEST {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn tags_of(bytes: &[u8]) -> Result<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, bytes).unwrap();
        archive_tags(&path)
    }

    #[test]
    fn the_tags_come_from_the_manifest_after_the_layers() {
        let manifest = br#"[{"Config":"c.json","RepoTags":["ns/a:t-id-1","ns/a:t1-abc"],"Layers":["l/layer.tar"]}]"#;
        let bytes = tar_with(&[
            ("l/layer.tar", &[7u8; 5000]),
            ("c.json", b"{}"),
            ("manifest.json", manifest),
        ]);
        assert_eq!(tags_of(&bytes).unwrap(), ["ns/a:t-id-1", "ns/a:t1-abc"]);
    }

    #[test]
    fn a_torn_archive_has_no_tags() {
        let manifest = br#"[{"RepoTags":["ns/a:t-id-1"]}]"#;
        let bytes = tar_with(&[("l/layer.tar", &[7u8; 5000]), ("manifest.json", manifest)]);
        // Cut inside the layer: what a killed writer without an atomic rename would leave.
        let err = tags_of(&bytes[..3000]).unwrap_err();
        assert!(matches!(err, DockerError::Archive { .. }), "{err}");
        let err = tags_of(b"").unwrap_err();
        assert!(err.to_string().contains("no manifest.json"), "{err}");
    }

    #[test]
    fn the_engines_load_messages_name_the_references() {
        assert_eq!(
            loaded_reference("Loaded image: ns/a:t-id-1\n").as_deref(),
            Some("ns/a:t-id-1")
        );
        assert_eq!(
            loaded_reference("Loaded image ID: sha256:ab").as_deref(),
            Some("sha256:ab")
        );
        assert_eq!(loaded_reference("Loading layer 1/2"), None);
    }
}
