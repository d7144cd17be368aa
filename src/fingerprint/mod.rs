//! Fingerprints: what a task's result depends on, hashed with blake3, stored in full so a change
//! can be explained ("input src/a.txt changed"), never containing an mtime or absolute path.
pub mod files;
pub mod reason;
pub mod record;
pub mod rel_path;
pub mod stat_cache;

pub use reason::DirtyReason;
pub use record::{Fingerprint, Hash, RecordSummary, TaskRecord};
pub use stat_cache::StatCache;
