//! The build context: which files are sent ([`context_entries`], also usable for hashing an
//! image's identity over exactly the files the engine sees) and the tar stream that sends them.
//!
//! The tar is written on a dedicated OS thread into a bounded channel whose receiving end is
//! the request body, so a context of any size costs a few 64 KiB chunks of memory, and a slow
//! engine applies back-pressure to the disk reads.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use walkdir::WalkDir;

use crate::dockerignore::DockerIgnore;
use crate::error::{DockerError, Result};

/// Size of one body chunk handed to the engine.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the tar thread and the HTTP body.
const CHUNKS_IN_FLIGHT: usize = 8;

/// What a context entry is; other file types (sockets, devices) are never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One path of the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Relative to the context root, `/`-separated, never empty.
    pub rel: String,
    /// Where it lives on disk.
    pub path: PathBuf,
    pub kind: EntryKind,
}

/// Lists the entries `docker build` would send from `context_dir`, in a stable (sorted,
/// parents-first) order: everything not excluded by `.dockerignore`, plus the Dockerfile and
/// `.dockerignore` themselves, which are always sent.
pub fn context_entries(context_dir: &Path, dockerfile: &str) -> Result<Vec<ContextEntry>> {
    let ctx_err = |path: &Path, detail: String| DockerError::Context {
        path: path.to_path_buf(),
        detail,
    };
    let ignore_path = context_dir.join(".dockerignore");
    let ignore = match std::fs::read_to_string(&ignore_path) {
        Ok(text) => DockerIgnore::parse(&text).map_err(|e| ctx_err(&ignore_path, e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(e) => return Err(ctx_err(&ignore_path, e.to_string())),
    };
    let dockerfile_rel = dockerfile.trim_start_matches("./").to_string();
    if !context_dir.join(&dockerfile_rel).is_file() {
        return Err(ctx_err(
            &context_dir.join(&dockerfile_rel),
            "the Dockerfile does not exist".into(),
        ));
    }
    let always = |rel: &str| rel == dockerfile_rel || rel == ".dockerignore";
    let descend_excluded = ignore.has_exceptions();

    let mut entries = Vec::new();
    let mut walk = WalkDir::new(context_dir)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter();
    while let Some(item) = walk.next() {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(context_dir).to_path_buf();
            ctx_err(&path, e.to_string())
        })?;
        let rel = relative(context_dir, item.path())?;
        let ft = item.file_type();
        let excluded = ignore.is_excluded(&rel) && !always(&rel);
        if excluded {
            // Without `!` patterns nothing below an excluded directory can come back.
            if ft.is_dir() && !descend_excluded && !dockerfile_rel.starts_with(&format!("{rel}/")) {
                walk.skip_current_dir();
            }
            continue;
        }
        let kind = if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else {
            continue;
        };
        entries.push(ContextEntry {
            rel,
            path: item.path().to_path_buf(),
            kind,
        });
    }
    Ok(entries)
}

fn relative(root: &Path, path: &Path) -> Result<String> {
    let rel = path.strip_prefix(root).map_err(|_| DockerError::Context {
        path: path.to_path_buf(),
        detail: "outside the context directory".into(),
    })?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok(parts.join("/"))
}

/// A tar of `entries` being written on its own thread: poll `body`, then `join` the writer to
/// learn whether every file was read.
pub(crate) struct TarStream {
    pub body: std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
    pub writer: JoinHandle<Result<()>>,
}

/// Starts streaming `entries` as an uncompressed tar, owned by uid/gid 0 like the docker CLI.
pub(crate) fn stream_tar(entries: Vec<ContextEntry>) -> TarStream {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let writer = std::thread::Builder::new()
        .name("dorun-context".into())
        .spawn(move || {
            let sink = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            let result = write_tar(sink, &entries);
            if let Err(DockerError::Context { detail, .. }) = &result {
                // Abort the request body so the engine never builds from a truncated context.
                let _ = tx.blocking_send(Err(io::Error::other(detail.clone())));
            }
            result
        })
        .expect("spawn the build-context thread");
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    TarStream {
        body: Box::pin(body),
        writer,
    }
}

fn write_tar(sink: ChannelWriter, entries: &[ContextEntry]) -> Result<()> {
    let mut tar = tar::Builder::new(sink);
    for entry in entries {
        match append(&mut tar, entry) {
            Ok(()) => {}
            // The engine dropped the body (it refused the build, or we stopped listening):
            // its answer, not ours, explains what happened.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => {
                return Err(DockerError::Context {
                    path: entry.path.clone(),
                    detail: e.to_string(),
                })
            }
        }
    }
    let sink = tar.into_inner().map_err(|e| DockerError::Context {
        path: PathBuf::from("."),
        detail: e.to_string(),
    })?;
    match sink.finish() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(DockerError::Context {
            path: PathBuf::from("."),
            detail: e.to_string(),
        }),
        _ => Ok(()),
    }
}

fn append(tar: &mut tar::Builder<ChannelWriter>, entry: &ContextEntry) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(&entry.path)?;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    // The docker CLI sends every context file as root; do the same so builds match.
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("")?;
    header.set_groupname("")?;
    match entry.kind {
        EntryKind::File => {
            let size = meta.len();
            let file = File::open(&entry.path)?;
            tar.append_data(&mut header, &entry.rel, ExactReader::new(file, size))
        }
        EntryKind::Dir => {
            header.set_size(0);
            tar.append_data(&mut header, &entry.rel, io::empty())
        }
        EntryKind::Symlink => {
            header.set_size(0);
            let target = std::fs::read_link(&entry.path)?;
            tar.append_link(&mut header, &entry.rel, target)
        }
    }
}

/// Reads exactly `size` bytes: a file that shrinks while being sent would otherwise corrupt
/// the archive, since its header already promised the old size.
struct ExactReader {
    inner: io::Take<File>,
    remaining: u64,
}

impl ExactReader {
    fn new(file: File, size: u64) -> Self {
        ExactReader {
            inner: file.take(size),
            remaining: size,
        }
    }
}

impl Read for ExactReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.remaining > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while it was being sent",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// `Write` end of the body channel, batching small tar writes into chunks.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the engine stopped reading"))
    }

    fn finish(mut self) -> io::Result<()> {
        self.send_buf()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Take only what fits, so every chunk is at most CHUNK bytes; `write_all` loops.
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn rels(entries: &[ContextEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.rel.as_str()).collect()
    }

    #[test]
    fn ignored_files_are_left_out_but_build_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        write(
            dir.path(),
            ".dockerignore",
            "secret\nnode_modules\nDockerfile\n.dockerignore\n",
        );
        write(dir.path(), "secret", "x");
        write(dir.path(), "node_modules/a/b.js", "x");
        write(dir.path(), "src/main.rs", "x");
        let entries = context_entries(dir.path(), "Dockerfile").unwrap();
        assert_eq!(
            rels(&entries),
            [".dockerignore", "Dockerfile", "src", "src/main.rs"]
        );
    }

    #[test]
    fn nested_dockerfile_survives_an_excluded_parent() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "docker/Dockerfile", "FROM scratch\n");
        write(dir.path(), "docker/other", "x");
        write(dir.path(), ".dockerignore", "docker\n");
        let entries = context_entries(dir.path(), "docker/Dockerfile").unwrap();
        assert_eq!(rels(&entries), [".dockerignore", "docker/Dockerfile"]);
    }

    #[test]
    fn missing_dockerfile_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = context_entries(dir.path(), "Dockerfile").unwrap_err();
        assert!(err.to_string().contains("Dockerfile"), "{err}");
    }

    #[test]
    fn tar_stream_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        let big = "y".repeat(300_000);
        write(dir.path(), "data/big.txt", &big);
        let entries = context_entries(dir.path(), "Dockerfile").unwrap();
        let ts = stream_tar(entries);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let chunks: Vec<Bytes> = rt.block_on(ts.body.map(|c| c.unwrap()).collect());
        ts.writer.join().unwrap().unwrap();
        assert!(chunks.len() > 1 && chunks.iter().all(|c| c.len() <= CHUNK));
        let all: Vec<u8> = chunks.concat();
        let mut archive = tar::Archive::new(&all[..]);
        let mut seen = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            assert_eq!(e.header().uid().unwrap(), 0);
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            if name == "data/big.txt" {
                assert_eq!(body.len(), big.len());
            }
            seen.push(name);
        }
        assert_eq!(seen, ["Dockerfile", "data", "data/big.txt"]);
    }
}
