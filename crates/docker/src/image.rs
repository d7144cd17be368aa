//! Local images: lookup, tagging, removal, history and configuration.

use std::collections::BTreeMap;

use bollard::query_parameters::{RemoveImageOptions, TagImageOptions};

use crate::engine::Engine;
use crate::error::{DockerError, Result};
use crate::reference::ImageRef;

/// One layer of an image's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The instruction that made it (`/bin/sh -c #(nop)  CMD ["sh"]`).
    pub created_by: String,
    /// Bytes this layer adds.
    pub size: i64,
    /// Unix seconds.
    pub created: i64,
    /// Image id of this step, or `<missing>` for layers built elsewhere.
    pub id: String,
}

/// What `checks.toml` metadata tests and manifests need from an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `sha256:…`
    pub id: String,
    /// Empty when the image runs as root by default.
    pub user: String,
    pub workdir: String,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// `8080/tcp`, sorted.
    pub exposed_ports: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// Bytes.
    pub size: i64,
    /// How many filesystem layers it has (`RootFS.Layers`), as a registry manifest counts them.
    pub layers: usize,
    /// `registry/name@sha256:…` for each registry the image was pushed to or pulled from.
    pub repo_digests: Vec<String>,
}

/// A local image's filesystem and settings, without its ids and timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageContent {
    /// The image id (`sha256:…`), which names the config the layers and settings come from.
    pub id: String,
    /// The layers' diff ids, base first.
    pub layers: Vec<String>,
    /// The image's `Config` as sorted JSON, without the per-build fields.
    pub settings: String,
}

impl Engine {
    /// The id (`sha256:…`) of a local image, or `None` when the engine does not have it.
    pub fn image_id(&self, reference: &str) -> Result<Option<String>> {
        match self.block_on(self.docker.inspect_image(reference)) {
            Ok(inspect) => Ok(inspect.id),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.err("inspecting an image", e)),
        }
    }

    /// The id and the repository digests (`name@sha256:…`, one per registry it came from or
    /// went to) of a local image, or `None` when the engine does not have it.
    pub fn image_digests(&self, reference: &str) -> Result<Option<(String, Vec<String>)>> {
        match self.block_on(self.docker.inspect_image(reference)) {
            Ok(inspect) => Ok(Some((
                inspect.id.unwrap_or_default(),
                inspect.repo_digests.unwrap_or_default(),
            ))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.err("inspecting an image", e)),
        }
    }

    /// What a child image inherits from a local image: its layers (`RootFS.Layers` of image
    /// inspect, the uncompressed diff ids, base first) and its run settings, or `None` when
    /// the engine does not have it. Two builds with equal answers differ only in ids and
    /// timestamps, so an image built on one is as good as one built on the other.
    pub fn image_content(&self, reference: &str) -> Result<Option<ImageContent>> {
        let inspect = match self.block_on(self.docker.inspect_image(reference)) {
            Ok(inspect) => inspect,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(self.err("inspecting an image", e)),
        };
        let mut settings = serde_json::to_value(inspect.config.unwrap_or_default())
            .unwrap_or(serde_json::Value::Null);
        if let Some(fields) = settings.as_object_mut() {
            // The classic builder names the parent's id here: an id, not something inherited.
            for per_build in ["Image", "Hostname", "Domainname"] {
                fields.remove(per_build);
            }
        }
        Ok(Some(ImageContent {
            id: inspect.id.unwrap_or_default(),
            layers: inspect.root_fs.and_then(|fs| fs.layers).unwrap_or_default(),
            // serde_json's maps are sorted: the same settings give the same text.
            settings: settings.to_string(),
        }))
    }

    /// Tags `image` (id or reference) as `repo:tag`.
    pub fn tag(&self, image: &str, repo: &str, tag: &str) -> Result<()> {
        let options = TagImageOptions {
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
        };
        self.block_on(self.docker.tag_image(image, Some(options)))
            .map_err(|e| self.image_err(image, "tagging an image", e))
    }

    /// Tags `image` with a full `repo:tag` reference.
    pub fn tag_reference(&self, image: &str, reference: &str) -> Result<()> {
        let parsed = ImageRef::parse(reference)?;
        self.tag(image, &parsed.name(), parsed.tag())
    }

    /// Removes a local image reference (untags it; deletes it when no tag remains). A missing
    /// image is not an error.
    pub fn remove_image(&self, reference: &str, force: bool) -> Result<()> {
        let options = RemoveImageOptions {
            force,
            noprune: false,
        };
        match self.block_on(self.docker.remove_image(reference, Some(options), None)) {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.err("removing an image", e)),
        }
    }

    /// Every local `repo:tag` whose repository contains `needle`: how tests and cleanups find
    /// the images of one namespace.
    pub fn references_matching(&self, needle: &str) -> Result<Vec<String>> {
        let images = self
            .block_on(
                self.docker
                    .list_images(None::<bollard::query_parameters::ListImagesOptions>),
            )
            .map_err(|e| self.err("listing images", e))?;
        Ok(images
            .into_iter()
            .flat_map(|i| i.repo_tags)
            .filter(|t| t.contains(needle))
            .collect())
    }

    /// Untags every reference containing `needle` (images left without a tag are deleted),
    /// then removes the digest references containing it (`repo@sha256:…`, which a pull or push
    /// leaves on an image whose tag moved on: without this it stays, untagged); returns how many
    /// tags matched.
    pub fn remove_images_matching(&self, needle: &str) -> Result<usize> {
        let images = self
            .block_on(
                self.docker
                    .list_images(None::<bollard::query_parameters::ListImagesOptions>),
            )
            .map_err(|e| self.err("listing images", e))?;
        let matching = |refs: Vec<String>| refs.into_iter().filter(|r| r.contains(needle));
        let (mut tags, mut digests) = (Vec::new(), Vec::new());
        for image in images {
            tags.extend(matching(image.repo_tags));
            digests.extend(matching(image.repo_digests));
        }
        // Not forced, and one failure does not stop the rest: an image still used by a
        // container or by another tag's build stays.
        for r in tags.iter().chain(&digests) {
            let _ = self.remove_image(r, false);
        }
        Ok(tags.len())
    }

    /// Removes the untagged (dangling) images labelled `label` (`key=value`): what a rebuild
    /// that moved a tag, or a removed tag, left behind. Not forced: an image a container still
    /// uses stays. Returns how many were removed.
    pub fn remove_dangling_labelled(&self, label: &str) -> Result<usize> {
        let options = bollard::query_parameters::ListImagesOptions {
            filters: Some(
                [
                    ("dangling".to_string(), vec!["true".to_string()]),
                    ("label".to_string(), vec![label.to_string()]),
                ]
                .into(),
            ),
            ..Default::default()
        };
        let images = self
            .block_on(self.docker.list_images(Some(options)))
            .map_err(|e| self.err("listing images", e))?;
        Ok(images
            .iter()
            .filter(|image| self.remove_image(&image.id, false).is_ok())
            .count())
    }

    /// The layers of `image`, newest first.
    pub fn history(&self, image: &str) -> Result<Vec<Layer>> {
        let items = self
            .block_on(self.docker.image_history(image))
            .map_err(|e| self.image_err(image, "reading image history", e))?;
        Ok(items
            .into_iter()
            .map(|h| Layer {
                created_by: h.created_by,
                size: h.size,
                created: h.created,
                id: h.id,
            })
            .collect())
    }

    /// The configuration of a local image.
    pub fn image_config(&self, image: &str) -> Result<ImageConfig> {
        let inspect = self
            .block_on(self.docker.inspect_image(image))
            .map_err(|e| self.image_err(image, "inspecting an image", e))?;
        let config = inspect.config.unwrap_or_default();
        let env = config
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv, String::new()),
            })
            .collect();
        let mut exposed_ports: Vec<String> = config
            .exposed_ports
            .unwrap_or_default()
            .into_keys()
            .collect();
        exposed_ports.sort();
        Ok(ImageConfig {
            id: inspect.id.unwrap_or_default(),
            user: config.user.unwrap_or_default(),
            workdir: config.working_dir.unwrap_or_default(),
            env,
            labels: config.labels.unwrap_or_default().into_iter().collect(),
            exposed_ports,
            cmd: config.cmd,
            entrypoint: config.entrypoint,
            size: inspect.size.unwrap_or_default(),
            layers: inspect
                .root_fs
                .and_then(|fs| fs.layers)
                .map_or(0, |l| l.len()),
            repo_digests: inspect.repo_digests.unwrap_or_default(),
        })
    }

    /// Like [`Engine::err`], but a 404 names the image.
    pub(crate) fn image_err(
        &self,
        image: &str,
        action: &str,
        e: bollard::errors::Error,
    ) -> DockerError {
        if is_not_found(&e) {
            DockerError::ImageNotFound {
                reference: image.to_string(),
            }
        } else {
            self.err(action, e)
        }
    }
}

pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
