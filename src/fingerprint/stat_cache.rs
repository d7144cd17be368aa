//! (size, mtime_ns, inode, ctime_ns) → blake3 of the content, so a no-op run reads no file.
//! It is only a cache: a lost or stale file is harmless because an entry is used only when every
//! stat field still matches, and a torn file fails its checksum and is ignored.
use super::record::Hash;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ino: u64,
    pub ctime_ns: i64,
}

impl Stat {
    pub fn of(meta: &std::fs::Metadata) -> Stat {
        Stat {
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ino: meta.ino(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        }
    }
}

/// A file changed less than this before it was hashed might change again within the same
/// timestamp tick unseen ("racy git"); such hashes are not cached.
const RACY_NS: i64 = 2_000_000_000;

/// A newly hashed file to add to the cache: path, stat, content hash.
pub type FreshEntry = (String, Stat, Hash);

#[derive(Default)]
pub struct StatCache {
    entries: RwLock<HashMap<String, (Stat, Hash)>>,
    dirty: std::sync::atomic::AtomicBool,
}

const MAGIC: &[u8; 8] = b"dorunsc1";

impl StatCache {
    pub fn load(path: &Path) -> StatCache {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        StatCache {
            entries: RwLock::new(entries),
            dirty: Default::default(),
        }
    }

    /// Writes the cache atomically when something was added.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if !self.dirty.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let entries = self.entries.read().unwrap();
        let body = bincode::serialize(&*entries).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(body.len() + 40);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(blake3::hash(&body).as_bytes());
        bytes.extend_from_slice(&body);
        crate::state::write_atomic(path, &bytes)
    }

    /// The content hash of `rel` (relative to `root`), from the cache when its stat is unchanged.
    pub fn hash(&self, root: &Path, rel: &str, meta: &std::fs::Metadata) -> std::io::Result<Hash> {
        let (hash, fresh) = self.lookup(root, rel, meta)?;
        if let Some(entry) = fresh {
            self.insert(vec![entry]);
        }
        Ok(hash)
    }

    /// Like `hash`, but hands back the new cache entry (if any) for one batched `insert`, so
    /// parallel hashing does not fight over the write lock once per file.
    pub fn lookup(
        &self,
        root: &Path,
        rel: &str,
        meta: &std::fs::Metadata,
    ) -> std::io::Result<(Hash, Option<FreshEntry>)> {
        let stat = Stat::of(meta);
        if let Some((s, h)) = self.entries.read().unwrap().get(rel) {
            if *s == stat {
                return Ok((*h, None));
            }
        }
        let hash = hash_file(&root.join(rel))?;
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        let settled = now_ns - stat.mtime_ns.max(stat.ctime_ns) > RACY_NS;
        Ok((hash, settled.then(|| (rel.to_string(), stat, hash))))
    }

    pub fn insert(&self, fresh: Vec<FreshEntry>) {
        if fresh.is_empty() {
            return;
        }
        let mut entries = self.entries.write().unwrap();
        for (rel, stat, hash) in fresh {
            entries.insert(rel, (stat, hash));
        }
        self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn decode(bytes: &[u8]) -> Option<HashMap<String, (Stat, Hash)>> {
    if bytes.len() < 40 || &bytes[..8] != MAGIC {
        return None;
    }
    let body = &bytes[40..];
    if blake3::hash(body).as_bytes() != &bytes[8..40] {
        return None;
    }
    bincode::deserialize(body).ok()
}

pub fn hash_file(path: &Path) -> std::io::Result<Hash> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(*hasher.finalize().as_bytes())
}
