//! A snapshot of the tagged images dorun built that the engine holds, taken with one request:
//! how a caller that needs "is it here?" for many references asks the engine once instead of
//! once each.
use std::collections::BTreeMap;

use crate::engine::Engine;
use crate::error::Result;
use crate::live::DORUN_LABEL;
use crate::reference::{ImageRef, DOCKER_HUB};

/// Image ids by reference, at the moment of the listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalImages {
    /// Keyed by the reference in one spelling (`docker.io/library/x:latest`), since the engine
    /// lists Docker Hub names shortened (`x:latest`) while callers may spell them out.
    ids: BTreeMap<String, String>,
}

impl LocalImages {
    /// A snapshot from `(reference, image id)` pairs, as the engine lists them.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> LocalImages {
        LocalImages {
            ids: pairs
                .into_iter()
                .map(|(reference, id)| (spelled_out(reference), id.to_string()))
                .collect(),
        }
    }

    /// The id (`sha256:…`) of the image tagged `reference`, if the engine had it.
    pub fn id_of(&self, reference: &str) -> Option<&str> {
        self.ids.get(&spelled_out(reference)).map(String::as_str)
    }
}

/// `registry/repository:tag` with Docker's implied parts written out: the registry
/// (`docker.io`), an official image's `library/` and the tag (`latest`).
fn spelled_out(reference: &str) -> String {
    match ImageRef::parse(reference) {
        Ok(r) => {
            let host = r.registry_host();
            let official = host == DOCKER_HUB && !r.repository.contains('/');
            let library = if official { "library/" } else { "" };
            format!("{host}/{library}{}:{}", r.repository, r.tag())
        }
        Err(_) => reference.to_string(),
    }
}

impl Engine {
    /// Every tagged local image labelled `dorun=1`, in one request: the images any dorun built,
    /// here or on another machine (pulled and loaded images keep their labels). Images dorun
    /// did not build (external bases, other projects' images) are left out: an engine shared
    /// with many of them is not listed whole for each run.
    pub fn dorun_images(&self) -> Result<LocalImages> {
        let options = bollard::query_parameters::ListImagesOptions {
            filters: Some([("label".to_string(), vec![format!("{DORUN_LABEL}=1")])].into()),
            ..Default::default()
        };
        let images = self
            .block_on(self.docker.list_images(Some(options)))
            .map_err(|e| self.err("listing images", e))?;
        let pairs: Vec<(String, String)> = images
            .into_iter()
            .flat_map(|i| {
                let id = i.id;
                i.repo_tags.into_iter().map(move |t| (t, id.clone()))
            })
            .collect();
        Ok(LocalImages::from_pairs(
            pairs.iter().map(|(r, id)| (r.as_str(), id.as_str())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_image_however_its_hub_name_is_spelled() {
        let images = LocalImages::from_pairs([
            ("busybox:latest", "sha256:a"),
            ("127.0.0.1:5000/ns/web:1-id-0f", "sha256:b"),
        ]);
        assert_eq!(
            images.id_of("docker.io/library/busybox:latest"),
            Some("sha256:a")
        );
        assert_eq!(images.id_of("busybox"), Some("sha256:a"));
        assert_eq!(
            images.id_of("127.0.0.1:5000/ns/web:1-id-0f"),
            Some("sha256:b")
        );
        assert_eq!(images.id_of("127.0.0.1:5000/ns/web:1-id-ff"), None);
    }
}
