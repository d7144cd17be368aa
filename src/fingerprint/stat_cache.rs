//! (size, mtime_ns, inode, ctime_ns) → blake3 of the content, so a no-op run reads no file.
//! It is only a cache: a lost or stale file is harmless because an entry is used only when every
//! stat field still matches, and a torn file fails its checksum and is ignored.
//!
//! A no-op run over 100,000 inputs is dominated by this cache, so the loaded file is not
//! decoded into 100,000 strings: it is kept as one buffer and indexed by a 64-bit hash of each
//! path, and only entries hashed during this run live in an ordinary map.
use super::record::Hash;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ino: u64,
    pub ctime_ns: i64,
}

impl Stat {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Stat {
        Stat {
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ino: meta.ino(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        }
    }

    fn to_bytes(self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&self.size.to_le_bytes());
        b[8..16].copy_from_slice(&self.mtime_ns.to_le_bytes());
        b[16..24].copy_from_slice(&self.ino.to_le_bytes());
        b[24..].copy_from_slice(&self.ctime_ns.to_le_bytes());
        b
    }

    fn from_bytes(b: &[u8]) -> Stat {
        let word = |i: usize| <[u8; 8]>::try_from(&b[i..i + 8]).unwrap();
        Stat {
            size: u64::from_le_bytes(word(0)),
            mtime_ns: i64::from_le_bytes(word(8)),
            ino: u64::from_le_bytes(word(16)),
            ctime_ns: i64::from_le_bytes(word(24)),
        }
    }
}

/// A file changed less than this before it was hashed might change again within the same
/// timestamp tick unseen ("racy git"); such hashes are not cached.
const RACY_NS: i64 = 2_000_000_000;

/// A newly hashed file to add to the cache: path, stat, content hash.
pub(crate) type FreshEntry = (String, Stat, Hash);

/// The index keys are already hashes; hashing them again would only cost time.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type PathIndex = HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>;

/// FNV-1a: short paths, no need for anything stronger (every hit is confirmed byte by byte).
fn path_hash(path: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in path {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    h
}

/// Entry layout in the file body: u16 path length, path, 32 bytes of stat, 32 bytes of hash.
const FIXED: usize = 2 + 32 + 32;

#[derive(Default)]
pub(crate) struct StatCache {
    /// The file body as loaded.
    loaded: Vec<u8>,
    /// Path hash → offset of the entry in `loaded`.
    index: PathIndex,
    /// Entries hashed during this run (and loaded entries whose path hash collided).
    fresh: RwLock<HashMap<String, (Stat, Hash)>>,
    dirty: AtomicBool,
}

const MAGIC: &[u8; 8] = b"dorunsc2";

impl StatCache {
    pub(crate) fn load(path: &Path) -> StatCache {
        let mut cache = StatCache::default();
        let Ok(bytes) = std::fs::read(path) else {
            return cache;
        };
        if bytes.len() < 40
            || &bytes[..8] != MAGIC
            || blake3::hash(&bytes[40..]).as_bytes() != &bytes[8..40]
        {
            return cache;
        }
        cache.loaded = bytes[40..].to_vec();
        let mut collided = HashSet::new();
        let mut at = 0usize;
        let body = &cache.loaded;
        while at + FIXED <= body.len() {
            let len = u16::from_le_bytes([body[at], body[at + 1]]) as usize;
            if at + FIXED + len > body.len() {
                break;
            }
            let path = &body[at + 2..at + 2 + len];
            let h = path_hash(path);
            if cache.index.insert(h, at as u32).is_some() {
                collided.insert(h);
            }
            at += FIXED + len;
        }
        // Two paths with one hash: keep both in the ordinary map instead.
        if !collided.is_empty() {
            let mut fresh = cache.fresh.write().unwrap();
            let mut at = 0usize;
            while at + FIXED <= body.len() {
                let (path, stat, hash, next) = entry_at(body, at);
                if collided.contains(&path_hash(path)) {
                    if let Ok(p) = std::str::from_utf8(path) {
                        fresh.insert(p.to_string(), (stat, hash));
                    }
                }
                at = next;
            }
            drop(fresh);
            for h in collided {
                cache.index.remove(&h);
            }
        }
        cache
    }

    fn loaded_entry(&self, rel: &str) -> Option<(Stat, Hash)> {
        let at = *self.index.get(&path_hash(rel.as_bytes()))? as usize;
        let (path, stat, hash, _) = entry_at(&self.loaded, at);
        (path == rel.as_bytes()).then_some((stat, hash))
    }

    /// Writes the cache atomically when something was added.
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        if !self.dirty.load(Ordering::Relaxed) {
            return Ok(());
        }
        let fresh = self.fresh.read().unwrap();
        let mut bytes = Vec::with_capacity(self.loaded.len() + fresh.len() * 100 + 40);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[0; 32]);
        let mut at = 0usize;
        while at + FIXED <= self.loaded.len() {
            let (p, stat, hash, next) = entry_at(&self.loaded, at);
            let superseded = std::str::from_utf8(p).is_ok_and(|p| fresh.contains_key(p));
            if !superseded {
                push_entry(&mut bytes, p, stat, &hash);
            }
            at = next;
        }
        for (p, (stat, hash)) in fresh.iter() {
            if p.len() <= u16::MAX as usize {
                push_entry(&mut bytes, p.as_bytes(), *stat, hash);
            }
        }
        let sum = *blake3::hash(&bytes[40..]).as_bytes();
        bytes[8..40].copy_from_slice(&sum);
        crate::atomic_file::write_atomic(path, &bytes)
    }

    /// The content hash of `rel` (relative to `root`), from the cache when its stat is unchanged.
    pub(crate) fn hash(
        &self,
        root: &Path,
        rel: &str,
        meta: &std::fs::Metadata,
    ) -> std::io::Result<Hash> {
        let (hash, fresh) = self.lookup(root, rel, Stat::of(meta))?;
        if let Some(entry) = fresh {
            self.insert(vec![entry]);
        }
        Ok(hash)
    }

    /// The cached hash when the stat still matches; never reads the file.
    pub(crate) fn cached(&self, rel: &str, stat: Stat) -> Option<Hash> {
        if let Some((s, h)) = self.loaded_entry(rel) {
            if s == stat {
                return Some(h);
            }
        }
        match self.fresh.read().unwrap().get(rel) {
            Some((s, h)) if *s == stat => Some(*h),
            _ => None,
        }
    }

    /// Like `hash`, but hands back the new cache entry (if any) for one batched `insert`, so
    /// parallel hashing does not fight over the write lock once per file.
    pub(crate) fn lookup(
        &self,
        root: &Path,
        rel: &str,
        stat: Stat,
    ) -> std::io::Result<(Hash, Option<FreshEntry>)> {
        // The loaded entries first: they need no lock, and a matching stat makes an entry
        // valid whatever was hashed since.
        if let Some((s, h)) = self.loaded_entry(rel) {
            if s == stat {
                return Ok((h, None));
            }
        }
        if let Some((s, h)) = self.fresh.read().unwrap().get(rel) {
            if *s == stat {
                return Ok((*h, None));
            }
        }
        let hash = hash_file(&root.join(super::rel_path::decode(rel)), Some(stat.size))?;
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        let settled = now_ns - stat.mtime_ns.max(stat.ctime_ns) > RACY_NS;
        Ok((hash, settled.then(|| (rel.to_string(), stat, hash))))
    }

    pub(crate) fn insert(&self, fresh: Vec<FreshEntry>) {
        if fresh.is_empty() {
            return;
        }
        let mut entries = self.fresh.write().unwrap();
        for (rel, stat, hash) in fresh {
            entries.insert(rel, (stat, hash));
        }
        self.dirty.store(true, Ordering::Relaxed);
    }
}

fn entry_at(body: &[u8], at: usize) -> (&[u8], Stat, Hash, usize) {
    let len = u16::from_le_bytes([body[at], body[at + 1]]) as usize;
    let path = &body[at + 2..at + 2 + len];
    let rest = &body[at + 2 + len..];
    let stat = Stat::from_bytes(&rest[..32]);
    let hash: Hash = rest[32..64].try_into().unwrap();
    (path, stat, hash, at + FIXED + len)
}

fn push_entry(out: &mut Vec<u8>, path: &[u8], stat: Stat, hash: &Hash) {
    out.extend_from_slice(&(path.len() as u16).to_le_bytes());
    out.extend_from_slice(path);
    out.extend_from_slice(&stat.to_bytes());
    out.extend_from_slice(hash);
}

/// blake3 of a file's content. Small files (most inputs) are read with one `read` call of their
/// known size, saving the second, empty read that detects end of file: a cold run hashes every
/// input, and the syscalls cost more than the hashing.
pub(crate) fn hash_file(path: &Path, expected_size: Option<u64>) -> std::io::Result<Hash> {
    // One buffer per thread: zeroing a fresh 64 KiB buffer per file cost more than hashing.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    BUF.with(|buf| {
        let buf = &mut buf.borrow_mut()[..];
        let mut total = 0u64;
        loop {
            let n = file.read(buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            total += n as u64;
            if Some(total) == expected_size {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    })?;
    Ok(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_save_and_load_and_a_changed_stat_misses() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "hello").unwrap();
        let meta = std::fs::metadata(&file).unwrap();
        let cache = StatCache::default();
        let stat = Stat::of(&meta);
        cache.insert(vec![("a.txt".into(), stat, [7; 32])]);
        let path = dir.path().join("cache");
        cache.save(&path).unwrap();
        let loaded = StatCache::load(&path);
        // The cached (fake) hash proves the file was not read.
        assert_eq!(loaded.hash(dir.path(), "a.txt", &meta).unwrap(), [7; 32]);
        std::fs::write(&file, "hello, world").unwrap();
        let meta = std::fs::metadata(&file).unwrap();
        let real = *blake3::hash(b"hello, world").as_bytes();
        assert_eq!(loaded.hash(dir.path(), "a.txt", &meta).unwrap(), real);
    }

    #[test]
    fn a_torn_cache_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = StatCache::default();
        let stat = Stat {
            size: 1,
            mtime_ns: 2,
            ino: 3,
            ctime_ns: 4,
        };
        cache.insert(vec![("x".into(), stat, [1; 32])]);
        let path = dir.path().join("cache");
        cache.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(StatCache::load(&path).loaded_entry("x").is_none());
    }
}
