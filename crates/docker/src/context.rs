//! The build context: which files are sent ([`context_entries`], also usable for hashing an
//! image's identity over exactly the files the engine sees) and the tar stream that sends them.
//!
//! The walk is the docker CLI's (moby `archive.TarWithOptions`): entries in byte order of their
//! names, each judged with its parent directory's pattern results, and an excluded directory
//! walked only when an exception names a path below it. Paths are bytes: a name that is not
//! UTF-8 is sent and hashed as it is.
//!
//! The tar is written on a dedicated OS thread into a bounded channel whose receiving end is
//! the request body, so a context of any size costs a few 64 KiB chunks of memory, and a slow
//! engine applies back-pressure to the disk reads.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use walkdir::WalkDir;

use crate::dockerignore::{DockerIgnore, ParentMatches};
use crate::error::{DockerError, Result};

/// Size of one body chunk handed to the engine.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the tar thread and the HTTP body.
const CHUNKS_IN_FLIGHT: usize = 8;

/// What a context entry is. A FIFO is sent as a FIFO (no content is read from it), as the docker
/// CLI does; sockets and device nodes are never sent (see [`LeftOut`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
}

/// One path of the build context.
#[derive(Debug, Clone)]
pub struct ContextEntry {
    /// Relative to the context root, `/`-separated, never empty; any bytes.
    pub rel: PathBuf,
    /// Where it lives on disk.
    pub path: PathBuf,
    pub kind: EntryKind,
    /// The entry's own metadata (`lstat`) as the walk found it: the tar header's mode, size and
    /// times come from it, so a listing hashed earlier is sent as it was hashed.
    pub meta: std::fs::Metadata,
}

/// A path that is not excluded but cannot be sent: a socket (the docker CLI cannot send one
/// either) or a device node (dorun does not send them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub rel: PathBuf,
    /// `"socket"` or `"device node"`.
    pub what: &'static str,
}

impl LeftOut {
    /// The warning a build shows for it.
    pub fn warning(&self) -> String {
        format!(
            "warning: {} is a {} and is not sent with the build context",
            display_rel(&self.rel),
            self.what
        )
    }
}

/// Everything [`context_entries`] found.
#[derive(Debug, Clone, Default)]
pub struct ContextListing {
    /// What is sent, in the order it is sent (parents first, names in byte order).
    pub entries: Vec<ContextEntry>,
    /// What is not excluded but cannot be sent.
    pub left_out: Vec<LeftOut>,
}

/// A relative path for messages: UTF-8 as is, other bytes as `\xNN`.
pub fn display_rel(rel: &Path) -> String {
    let mut out = String::new();
    for chunk in rel.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Lists what `docker build` would send from `context_dir`: everything not excluded by
/// `.dockerignore`, plus the Dockerfile and `.dockerignore` themselves, which are always sent.
pub fn context_entries(context_dir: &Path, dockerfile: &str) -> Result<ContextListing> {
    let ctx_err = |path: &Path, detail: String| DockerError::Context {
        path: path.to_path_buf(),
        detail,
    };
    let ignore_path = context_dir.join(".dockerignore");
    let mut ignore = match std::fs::read(&ignore_path) {
        Ok(text) => DockerIgnore::parse(&text).map_err(|e| ctx_err(&ignore_path, e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(e) => return Err(ctx_err(&ignore_path, e.to_string())),
    };
    let dockerfile_rel = dockerfile.trim_start_matches("./");
    if !context_dir.join(dockerfile_rel).is_file() {
        return Err(ctx_err(
            &context_dir.join(dockerfile_rel),
            "the Dockerfile does not exist".into(),
        ));
    }
    // As the docker CLI does: an exception for each build file the patterns exclude.
    for always in [".dockerignore", dockerfile_rel] {
        if ignore.is_excluded(always.as_bytes()) {
            ignore.keep(always.as_bytes());
        }
    }

    let mut listing = ContextListing::default();
    // The directories above the current entry, with their pattern results.
    let mut parents: Vec<(PathBuf, ParentMatches)> = Vec::new();
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
        let rel = item
            .path()
            .strip_prefix(context_dir)
            .map_err(|_| ctx_err(item.path(), "outside the context directory".into()))?
            .to_path_buf();
        let ft = item.file_type();
        while parents.last().is_some_and(|(dir, _)| !rel.starts_with(dir)) {
            parents.pop();
        }
        let parent = parents.last().map(|(_, m)| m.clone()).unwrap_or_default();
        let (excluded, matches) = ignore.is_excluded_below(rel.as_os_str().as_bytes(), &parent);
        if ft.is_dir() {
            parents.push((rel.clone(), matches));
        }
        if excluded {
            if ft.is_dir() && !ignore.may_reinclude_below(rel.as_os_str().as_bytes()) {
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
        } else if ft.is_fifo() {
            EntryKind::Fifo
        } else {
            let what = if ft.is_socket() {
                "socket"
            } else {
                "device node"
            };
            listing.left_out.push(LeftOut { rel, what });
            continue;
        };
        let meta = item
            .metadata()
            .map_err(|e| ctx_err(item.path(), e.to_string()))?;
        listing.entries.push(ContextEntry {
            rel,
            path: item.path().to_path_buf(),
            kind,
            meta,
        });
    }
    Ok(listing)
}

/// A tar of `entries` being written on its own thread: poll `body`, then `join` the writer to
/// learn whether every file was read.
pub(crate) struct TarStream {
    pub body: std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
    pub writer: JoinHandle<Result<()>>,
}

/// Starts streaming `entries` as an uncompressed tar, owned by uid/gid 0 like the docker CLI.
#[cfg(test)]
pub(crate) fn stream_tar(entries: Vec<ContextEntry>) -> TarStream {
    stream_tar_replacing(entries, None)
}

/// A file's content sent instead of what is on disk: the Dockerfile with its external base
/// images pinned to the digests the identity was computed with.
pub(crate) struct Replacement {
    /// Relative to the context root, as the listing names it.
    pub rel: PathBuf,
    pub content: Vec<u8>,
}

/// [`stream_tar`], sending `replacement`'s content under its name (same header otherwise).
pub(crate) fn stream_tar_replacing(
    entries: Vec<ContextEntry>,
    replacement: Option<Replacement>,
) -> TarStream {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let writer = std::thread::Builder::new()
        .name("dorun-context".into())
        .spawn(move || {
            let sink = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            let result = write_tar(sink, &entries, replacement.as_ref());
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

fn write_tar(
    sink: ChannelWriter,
    entries: &[ContextEntry],
    replacement: Option<&Replacement>,
) -> Result<()> {
    let mut tar = tar::Builder::new(sink);
    for entry in entries {
        let replaced = replacement.filter(|r| r.rel == entry.rel && entry.kind == EntryKind::File);
        match append(&mut tar, entry, replaced) {
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

fn append(
    tar: &mut tar::Builder<ChannelWriter>,
    entry: &ContextEntry,
    replaced: Option<&Replacement>,
) -> io::Result<()> {
    let meta = &entry.meta;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    // The docker CLI sends every context file as root; do the same so builds match.
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("")?;
    header.set_groupname("")?;
    match entry.kind {
        EntryKind::File if replaced.is_some() => {
            let content = &replaced.expect("checked").content;
            header.set_size(content.len() as u64);
            tar.append_data(&mut header, &entry.rel, content.as_slice())
        }
        EntryKind::File => {
            let size = meta.len();
            let file = File::open(&entry.path)?;
            if changed_since_listed(meta, &file.metadata()?) {
                return Err(io::Error::other(
                    "changed after it was listed (and hashed for the identity): run again",
                ));
            }
            tar.append_data(&mut header, &entry.rel, ExactReader::new(file, size))
        }
        // A FIFO is never opened: reading it could block forever.
        EntryKind::Dir | EntryKind::Fifo => {
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

/// A file whose size or modification time moved since the walk no longer holds what was listed
/// (and hashed): sending it would put content under an identity that does not cover it.
fn changed_since_listed(listed: &std::fs::Metadata, now: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (
        listed.len(),
        listed.mtime(),
        listed.mtime_nsec(),
        listed.ino(),
    ) != (now.len(), now.mtime(), now.mtime_nsec(), now.ino())
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

    fn rels(listing: &ContextListing) -> Vec<&str> {
        listing
            .entries
            .iter()
            .map(|e| e.rel.to_str().unwrap())
            .collect()
    }

    /// The entries of a streamed tar: raw path bytes and entry type.
    fn tar_entries(listing: ContextListing) -> Vec<(Vec<u8>, tar::EntryType)> {
        let ts = stream_tar(listing.entries);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let chunks: Vec<Bytes> = rt.block_on(ts.body.map(|c| c.unwrap()).collect());
        ts.writer.join().unwrap().unwrap();
        let all: Vec<u8> = chunks.concat();
        let mut archive = tar::Archive::new(&all[..]);
        let entries = archive.entries().unwrap();
        entries
            .map(|e| {
                let e = e.unwrap();
                (e.path_bytes().into_owned(), e.header().entry_type())
            })
            .collect()
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
        let ts = stream_tar(entries.entries);
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

    #[test]
    fn a_file_changed_after_the_listing_is_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        write(dir.path(), "data.txt", "hashed");
        let listing = context_entries(dir.path(), "Dockerfile").unwrap();
        write(dir.path(), "data.txt", "changed since");
        let ts = stream_tar(listing.entries);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let chunks: Vec<io::Result<Bytes>> = rt.block_on(ts.body.collect());
        assert!(chunks.iter().any(|c| c.is_err()), "the body is aborted");
        let err = ts.writer.join().unwrap().unwrap_err();
        assert!(
            err.to_string().contains("changed after it was listed"),
            "{err}"
        );
    }

    #[test]
    fn names_that_are_not_utf8_are_sent_as_bytes() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        let name = std::ffi::OsStr::from_bytes(b"b\xff.bin");
        std::fs::write(dir.path().join(name), "x").unwrap();
        let listing = context_entries(dir.path(), "Dockerfile").unwrap();
        assert_eq!(listing.entries[1].rel, Path::new(name));
        let names: Vec<Vec<u8>> = tar_entries(listing).into_iter().map(|e| e.0).collect();
        assert_eq!(names, [b"Dockerfile".to_vec(), b"b\xff.bin".to_vec()]);
    }

    #[test]
    fn a_fifo_is_sent_as_a_fifo_and_a_socket_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join("pipe"))
            .status()
            .unwrap();
        assert!(status.success());
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
        let listing = context_entries(dir.path(), "Dockerfile").unwrap();
        assert_eq!(
            listing.left_out,
            [LeftOut {
                rel: "sock".into(),
                what: "socket"
            }]
        );
        assert_eq!(
            listing.left_out[0].warning(),
            "warning: sock is a socket and is not sent with the build context"
        );
        // Streaming does not block on the FIFO (nothing writes to it).
        let entries = tar_entries(listing);
        assert_eq!(
            entries,
            [
                (b"Dockerfile".to_vec(), tar::EntryType::Regular),
                (b"pipe".to_vec(), tar::EntryType::Fifo),
            ]
        );
    }

    #[test]
    fn excluded_directories_reopen_only_for_exceptions_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        write(dir.path(), ".dockerignore", "build\n!build/**/*.so\n");
        write(dir.path(), "build/a.so", "x");
        write(dir.path(), "build/b.o", "x");
        write(dir.path(), "build/sub/c.so", "x");
        let listing = context_entries(dir.path(), "Dockerfile").unwrap();
        // The docker CLI walks `build` but not `build/sub`.
        assert_eq!(
            rels(&listing),
            [".dockerignore", "Dockerfile", "build/a.so"]
        );
    }

    #[test]
    fn display_escapes_bytes_that_are_not_utf8() {
        let rel = Path::new(std::ffi::OsStr::from_bytes(b"d\xc3\xa9/b\xff"));
        assert_eq!(display_rel(rel), "dé/b\\xff");
    }
}
