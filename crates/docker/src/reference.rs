//! Splitting image references (`host:5000/ns/name:tag`) the way Docker does.

use crate::error::{DockerError, Result};

/// A parsed `[registry/]repository[:tag]` reference (digests are not needed by dorun).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `127.0.0.1:5000`, or `docker.io` when the first component is not a host.
    pub registry: String,
    /// The repository path inside the registry, e.g. `dorun-demo/base`
    /// (`library/busybox` for an official Docker Hub image).
    pub repository: String,
    /// `latest` when absent.
    pub tag: String,
}

impl Reference {
    /// Parses `reference`; rejects empty names and digests (`@sha256:…`).
    pub fn parse(reference: &str) -> Result<Reference> {
        let invalid = |reason: &str| DockerError::InvalidReference {
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        if reference.contains('@') {
            return Err(invalid("digest references cannot be tagged or pushed"));
        }
        let (name, tag) = split_tag(reference);
        if name.is_empty() || name.starts_with('/') || name.ends_with('/') {
            return Err(invalid("empty repository name"));
        }
        if tag.is_empty() {
            return Err(invalid("empty tag"));
        }
        let (registry, repository) = match name.split_once('/') {
            // Docker's rule: the first component is a host if it has a dot or a port, or is
            // `localhost`.
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        Ok(Reference {
            registry,
            repository,
            tag: tag.to_string(),
        })
    }

    /// `registry/repository` without the tag, as given to the engine's push and tag calls.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

/// `a:5000/b:c` → (`a:5000/b`, `c`); a colon before the last `/` is a port, not a tag.
pub(crate) fn split_tag(reference: &str) -> (&str, &str) {
    match reference.rfind(':') {
        Some(i) if !reference[i..].contains('/') => (&reference[..i], &reference[i + 1..]),
        _ => (reference, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_with_port() {
        let r = Reference::parse("127.0.0.1:5000/dorun-demo/base:2026.4-abc").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "dorun-demo/base");
        assert_eq!(r.tag, "2026.4-abc");
        assert_eq!(r.name(), "127.0.0.1:5000/dorun-demo/base");
    }

    #[test]
    fn port_without_tag_defaults_to_latest() {
        let r = Reference::parse("localhost:5000/x").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.tag.as_str()),
            ("localhost:5000", "latest")
        );
    }

    #[test]
    fn docker_hub_names() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.repository, "library/busybox");
        let r = Reference::parse("user/app:1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "user/app")
        );
    }

    #[test]
    fn rejects_digests_and_empty() {
        assert!(Reference::parse("x@sha256:abc").is_err());
        assert!(Reference::parse(":tag").is_err());
        assert!(Reference::parse("x:").is_err());
    }
}
