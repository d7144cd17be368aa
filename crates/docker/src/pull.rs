//! `Engine::pull`: bring one image from its registry into the engine (a later CI phase fetching
//! what an earlier one staged), with the credentials a push sends.

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

use crate::credentials::Credentials;
use crate::engine::Engine;
use crate::error::{redact, DockerError, Result};
use crate::image::is_not_found;
use crate::reference::ImageRef;

impl Engine {
    /// Pulls `reference` (`registry/ns/name:tag`, or `…@sha256:…` for exactly that image), handing every progress line to `on_line`.
    pub fn pull_with(
        &self,
        reference: &str,
        creds: Option<&Credentials>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let parsed = ImageRef::parse(reference)?;
        let options = CreateImageOptions {
            from_image: Some(parsed.name()),
            // The API takes a digest where it takes a tag.
            tag: Some(
                parsed
                    .digest
                    .clone()
                    .unwrap_or_else(|| parsed.tag().to_string()),
            ),
            ..Default::default()
        };
        let auth = creds.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(parsed.registry_host().to_string()),
            ..Default::default()
        });
        let secret = creds.map(|c| c.password.as_str());
        let failed = |message: String| DockerError::PullFailed {
            reference: reference.to_string(),
            message: redact(&message, secret),
        };
        self.block_on(async {
            let mut stream = self.docker.create_image(Some(options), None, auth);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(status) = info.status.as_deref() {
                            on_line(status);
                        }
                    }
                    Err(bollard::errors::Error::DockerStreamError { error }) => {
                        return Err(failed(error))
                    }
                    Err(e) if is_not_found(&e) => {
                        return Err(DockerError::ImageNotFound {
                            reference: reference.to_string(),
                        })
                    }
                    Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                        return Err(failed(message))
                    }
                    Err(e) => return Err(self.err("pulling an image", e)),
                }
            }
            Ok(())
        })
    }
}
