//! `Engine::stat_path`: what a path looks like inside an image, read without running anything.
//!
//! A container is created (never started) and `GET /containers/{id}/archive?path=` returns the
//! path as a tar. Only the first entry matters, so the body is parsed as it arrives and dropped
//! once the header (and, for small regular files, the contents) is in: a stat of `/usr` never
//! downloads `/usr`.

use std::io::{self, Read};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, DownloadFromContainerOptions};
use futures_util::StreamExt;

use crate::engine::Engine;
use crate::error::{DockerError, Result};
use crate::image::is_not_found;
use crate::live::ContainerGuard;

/// Regular files up to this size come back with their contents.
pub const MAX_CONTENTS: u64 = 1024 * 1024;

/// A path inside an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Permission bits including setuid/setgid/sticky (`0o755`), no file-type bits.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub is_dir: bool,
    /// A symbolic link (not followed); see `link_target`.
    pub is_symlink: bool,
    pub link_target: Option<String>,
    /// Bytes (0 for directories and links).
    pub size: u64,
    /// Contents of a regular file of at most [`MAX_CONTENTS`] bytes.
    pub contents: Option<Vec<u8>>,
}

impl FileInfo {
    /// `ls -l` style mode, e.g. `-rw-r--r--` or `drwxr-xr-x`, as `checks.toml` writes it.
    pub fn mode_string(&self) -> String {
        let kind = if self.is_dir {
            'd'
        } else if self.is_symlink {
            'l'
        } else {
            '-'
        };
        let mut s = String::from(kind);
        let bits = [(0o400, 'r'), (0o200, 'w'), (0o100, 'x')];
        for (shift, special, upper, lower) in [
            (0, 0o4000, 'S', 's'),
            (3, 0o2000, 'S', 's'),
            (6, 0o1000, 'T', 't'),
        ] {
            for (i, (bit, ch)) in bits.iter().enumerate() {
                let on = self.mode & (bit >> shift) != 0;
                if i == 2 && self.mode & special != 0 {
                    s.push(if on { lower } else { upper });
                } else {
                    s.push(if on { *ch } else { '-' });
                }
            }
        }
        s
    }
}

impl Engine {
    /// Stats `path` (absolute) in `image`; `None` when it does not exist.
    pub fn stat_path(&self, image: &str, path: &str) -> Result<Option<FileInfo>> {
        let guard = ContainerGuard::new(self);
        self.block_on(self.stat_in(&guard.name, image, path))
    }

    async fn stat_in(&self, name: &str, image: &str, path: &str) -> Result<Option<FileInfo>> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            // Never started; a command is only needed because images `FROM scratch` have none.
            cmd: Some(vec!["/dorun-stat".to_string()]),
            labels: Some(self.container_labels([])),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| match is_not_found(&e) {
                true => DockerError::ImageNotFound {
                    reference: image.to_string(),
                },
                false => self.err("creating a container", e),
            })?;

        let options = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut stream = self.docker.download_from_container(name, Some(options));
        let mut buf = Vec::new();
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    buf.extend_from_slice(&chunk);
                    if let Some(info) = first_entry(&buf, false) {
                        return info.map(Some).map_err(|e| self.archive_err(e));
                    }
                }
                Some(Err(e)) if is_not_found(&e) => return Ok(None),
                Some(Err(e)) => return Err(self.err("reading a path from an image", e)),
                None => {
                    return match first_entry(&buf, true) {
                        Some(info) => info.map(Some).map_err(|e| self.archive_err(e)),
                        None => Ok(None),
                    }
                }
            }
        }
    }

    fn archive_err(&self, e: io::Error) -> DockerError {
        DockerError::Engine {
            action: "reading a path from an image".into(),
            message: format!("unreadable archive: {e}"),
        }
    }
}

/// Parses the first tar entry of `buf`. `None` means "need more bytes" (or, when `complete`,
/// an empty archive).
fn first_entry(buf: &[u8], complete: bool) -> Option<io::Result<FileInfo>> {
    let mut archive = tar::Archive::new(buf);
    let mut entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return complete.then_some(Err(e)),
    };
    let mut entry = match entries.next() {
        Some(Ok(entry)) => entry,
        Some(Err(e)) => return complete.then_some(Err(e)),
        None => return None,
    };
    let header = entry.header();
    let kind = header.entry_type();
    let size = header.size().unwrap_or(0);
    let mut info = FileInfo {
        mode: header.mode().unwrap_or(0) & 0o7777,
        uid: header.uid().unwrap_or(0),
        gid: header.gid().unwrap_or(0),
        is_dir: kind.is_dir(),
        is_symlink: kind.is_symlink(),
        link_target: entry
            .link_name()
            .ok()
            .flatten()
            .map(|p| p.to_string_lossy().into_owned()),
        size: if kind.is_file() { size } else { 0 },
        contents: None,
    };
    if kind.is_file() && size <= MAX_CONTENTS {
        let mut contents = Vec::with_capacity(size as usize);
        match entry.read_to_end(&mut contents) {
            Ok(_) if contents.len() as u64 == size => info.contents = Some(contents),
            Ok(_) | Err(_) if !complete => return None,
            Ok(_) => {
                return Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated file contents",
                )))
            }
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(path: &str, mode: u32, data: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o100000 | mode);
        h.set_uid(1000);
        h.set_gid(100);
        b.append_data(&mut h, path, data).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn parses_only_once_complete() {
        let data = tar_of("os-release", 0o644, b"ID=test\n");
        assert!(first_entry(&data[..100], false).is_none());
        assert!(first_entry(&data[..516], false).is_none());
        let info = first_entry(&data, false).unwrap().unwrap();
        assert_eq!(info.mode, 0o644);
        assert_eq!((info.uid, info.gid), (1000, 100));
        assert_eq!(info.contents.as_deref(), Some(&b"ID=test\n"[..]));
        assert_eq!(info.mode_string(), "-rw-r--r--");
    }

    #[test]
    fn large_files_come_without_contents() {
        let data = tar_of("big", 0o600, &vec![0u8; MAX_CONTENTS as usize + 1]);
        let info = first_entry(&data[..1024], false).unwrap().unwrap();
        assert_eq!(info.size, MAX_CONTENTS + 1);
        assert!(info.contents.is_none());
    }

    #[test]
    fn mode_strings() {
        let mut info = FileInfo {
            mode: 0o4755,
            uid: 0,
            gid: 0,
            is_dir: false,
            is_symlink: false,
            link_target: None,
            size: 0,
            contents: None,
        };
        assert_eq!(info.mode_string(), "-rwsr-xr-x");
        info.mode = 0o1777;
        info.is_dir = true;
        assert_eq!(info.mode_string(), "drwxrwxrwt");
    }
}
