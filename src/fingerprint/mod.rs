//! Fingerprints: what a task's result depends on, hashed with blake3, stored in full so a change
//! can be explained ("input src/a.txt changed"), never containing an mtime or absolute path.
pub(crate) mod files;
pub(crate) mod reason;
pub(crate) mod record;
pub(crate) mod rel_path;
pub(crate) mod stat_cache;

pub(crate) use reason::DirtyReason;
pub(crate) use record::{Fingerprint, Hash, RecordSummary, TaskRecord};
pub(crate) use stat_cache::StatCache;
