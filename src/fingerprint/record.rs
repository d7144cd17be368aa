//! What is stored per task after it succeeded: the full fingerprint (so `info` can say which
//! field changed), its digest, the output hashes, and the result digest dependents see.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(crate) type Hash = [u8; 32];

/// Everything that changes a task's result. No mtimes, no absolute paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// `shell`, `images-build`, ...: a task that changes kind is stale.
    pub kind: String,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub dir: String,
    /// Other settings that change the result (declared outputs, builtin configuration).
    pub settings: BTreeMap<String, String>,
    pub inputs: Vec<(String, Hash)>,
    /// Dependency name → that dependency's result digest.
    pub deps: Vec<(String, Hash)>,
}

impl Fingerprint {
    /// blake3 over every field, each length-prefixed so no two fingerprints collide by
    /// concatenation. Written by hand into one buffer: it runs for every task on every run,
    /// and a serde encoder spends more on bookkeeping than on the bytes.
    pub(crate) fn digest(&self) -> Hash {
        fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
            buf.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            buf.extend_from_slice(bytes);
        }
        let mut buf = Vec::with_capacity(64 + self.inputs.len() * 80);
        put(&mut buf, b"dorun-fingerprint-v1");
        put(&mut buf, self.kind.as_bytes());
        put(&mut buf, &(self.command.len() as u64).to_le_bytes());
        for c in &self.command {
            put(&mut buf, c.as_bytes());
        }
        for map in [&self.env, &self.settings] {
            put(&mut buf, &(map.len() as u64).to_le_bytes());
            for (k, v) in map {
                put(&mut buf, k.as_bytes());
                put(&mut buf, v.as_bytes());
            }
        }
        put(&mut buf, self.dir.as_bytes());
        for list in [&self.inputs, &self.deps] {
            put(&mut buf, &(list.len() as u64).to_le_bytes());
            for (name, hash) in list {
                put(&mut buf, name.as_bytes());
                buf.extend_from_slice(hash);
            }
        }
        *blake3::hash(&buf).as_bytes()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TaskRecord {
    pub fingerprint: Fingerprint,
    pub outputs: Vec<(String, Hash)>,
    /// Builtin results worth keeping (image id, reference, digest...).
    pub extra: BTreeMap<String, String>,
    pub seconds: f64,
    /// Unix seconds when the task finished.
    pub finished_at: u64,
}

impl TaskRecord {
    /// What dependents fold into their fingerprint: this task's inputs and what it produced.
    pub(crate) fn result_digest(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(&self.fingerprint.digest());
        for (path, hash) in &self.outputs {
            h.update(path.as_bytes());
            h.update(hash);
        }
        for (k, v) in &self.extra {
            h.update(k.as_bytes());
            h.update(v.as_bytes());
        }
        *h.finalize().as_bytes()
    }
}

/// The part of a record every decision needs, stored apart from the (large) fingerprint so a
/// no-op run decodes only this: the fingerprint's digest is compared, and the full fingerprint
/// is read only to explain a difference.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RecordSummary {
    pub fingerprint_digest: Hash,
    pub result_digest: Hash,
    pub outputs: Vec<(String, Hash)>,
    pub extra: BTreeMap<String, String>,
    pub seconds: f64,
    pub finished_at: u64,
}

impl TaskRecord {
    pub(crate) fn summary(&self) -> RecordSummary {
        RecordSummary {
            fingerprint_digest: self.fingerprint.digest(),
            result_digest: self.result_digest(),
            outputs: self.outputs.clone(),
            extra: self.extra.clone(),
            seconds: self.seconds,
            finished_at: self.finished_at,
        }
    }
}

/// A digest in lowercase hex.
pub(crate) fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}
