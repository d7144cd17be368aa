//! Image references (`host:5000/ns/name:tag@sha256:…`): one type that is made from parts,
//! parsed the way Docker splits them, and written back exactly as it was written.

use std::fmt;
use std::str::FromStr;

use crate::error::{DockerError, Result};

/// `[registry/]repository[:tag][@digest]`, kept as written: a reference without a registry
/// component stays without one (Docker reads it as Docker Hub; dorun as "local engine only").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// `127.0.0.1:5000`, `ghcr.io`; None when the first component is not a host.
    pub registry: Option<String>,
    /// The path inside the registry, e.g. `dorun-demo/base`.
    pub repository: String,
    /// None when absent (Docker then means `latest`).
    pub tag: Option<String>,
    /// `sha256:…`, when the reference pins one.
    pub digest: Option<String>,
}

/// The registry Docker assumes when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";

impl ImageRef {
    /// `registry/repository:tag`, from parts that are already valid.
    pub fn tagged(registry: Option<&str>, repository: &str, tag: &str) -> ImageRef {
        ImageRef {
            registry: registry.map(str::to_string),
            repository: repository.to_string(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// Parses `reference` with Docker's rule: the first `/`-separated component is a registry
    /// when it has a `.` or a `:`, or is `localhost`; a `:` after the last `/` starts the tag.
    pub fn parse(reference: &str) -> Result<ImageRef> {
        let invalid = |reason: &str| DockerError::InvalidReference {
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        let (named, digest) = match reference.split_once('@') {
            Some((_, "")) => return Err(invalid("empty digest")),
            Some((named, digest)) => (named, Some(digest.to_string())),
            None => (reference, None),
        };
        let (name, tag) = match named.rfind(':') {
            Some(i) if !named[i..].contains('/') => (&named[..i], Some(&named[i + 1..])),
            _ => (named, None),
        };
        if name.is_empty() || name.starts_with('/') || name.ends_with('/') {
            return Err(invalid("empty repository name"));
        }
        if tag == Some("") {
            return Err(invalid("empty tag"));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), rest.to_string())
            }
            _ => (None, name.to_string()),
        };
        Ok(ImageRef {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The same repository under another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The tag, `latest` when absent.
    pub fn tag(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// `[registry/]repository` as written, without tag or digest: what the engine's tag and
    /// push calls take as the repository.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// The registry host Docker talks to for this reference.
    pub fn registry_host(&self) -> &str {
        self.registry.as_deref().unwrap_or(DOCKER_HUB)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = DockerError;

    fn from_str(s: &str) -> Result<ImageRef> {
        ImageRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_with_port() {
        let r = ImageRef::parse("127.0.0.1:5000/dorun-demo/base:2026.4-abc").unwrap();
        assert_eq!(r.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.repository, "dorun-demo/base");
        assert_eq!(r.tag(), "2026.4-abc");
        assert_eq!(r.name(), "127.0.0.1:5000/dorun-demo/base");
    }

    #[test]
    fn port_without_tag_defaults_to_latest() {
        let r = ImageRef::parse("localhost:5000/x").unwrap();
        assert_eq!((r.registry_host(), r.tag()), ("localhost:5000", "latest"));
        assert_eq!(r.to_string(), "localhost:5000/x");
    }

    #[test]
    fn names_without_a_host_keep_no_registry() {
        let r = ImageRef::parse("busybox").unwrap();
        assert_eq!(
            (r.registry_host(), r.repository.as_str()),
            (DOCKER_HUB, "busybox")
        );
        let r = ImageRef::parse("user/app:1").unwrap();
        assert_eq!(r.registry, None);
        assert_eq!(r.to_string(), "user/app:1");
    }

    #[test]
    fn digests_are_kept() {
        let r = ImageRef::parse("r:5000/ns/a:t@sha256:abc").unwrap();
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(r.tag(), "t");
        assert_eq!(r.to_string(), "r:5000/ns/a:t@sha256:abc");
        assert_eq!(r.with_tag("u").to_string(), "r:5000/ns/a:u");
    }

    #[test]
    fn display_round_trips_what_parse_reads() {
        for text in [
            "r:5000/ns/a:1-id-0123456789ab",
            "ns/a:t",
            "a",
            "[::1]:5000/a:b",
            "ghcr.io/o/a@sha256:00",
        ] {
            assert_eq!(ImageRef::parse(text).unwrap().to_string(), text);
        }
        let made = ImageRef::tagged(Some("r:5000"), "ns/a", "t");
        assert_eq!(made, "r:5000/ns/a:t".parse().unwrap());
    }

    #[test]
    fn rejects_empty_parts() {
        assert!(ImageRef::parse(":tag").is_err());
        assert!(ImageRef::parse("x:").is_err());
        assert!(ImageRef::parse("x@").is_err());
        assert!(ImageRef::parse("/x").is_err());
    }
}
