//! The crash-safe store under `.dorun/`: one record file per task, written only after the task
//! succeeded and its outputs were hashed (`atomic_file`: temp file + rename), removed before the task
//! starts again; and one lock per project so two dorun processes never interleave.
use crate::error::{Error, Result};
use crate::fingerprint::{Fingerprint, RecordSummary, TaskRecord};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(crate) struct State {
    dir: PathBuf,
    /// The record summaries read so far, by task: a task's scheduling, its decision and its
    /// result each ask for its summary, and each read the file (three reads per subtask of a
    /// no-op build). This process changes records only through `save` and `forget`, which
    /// drop the entry; another process cannot while this one holds the project lock.
    summaries: Mutex<Summaries>,
}

#[derive(Default)]
struct Summaries {
    by_task: HashMap<String, Option<RecordSummary>>,
    /// Bumped by every change of a record: a summary read while one changed is not kept.
    changes: u64,
}

/// Held for the whole run; the OS releases it if dorun is killed.
pub(crate) struct Lock {
    _file: File,
}

impl State {
    pub(crate) fn new(dir: PathBuf) -> State {
        State {
            dir,
            summaries: Mutex::default(),
        }
    }

    pub(crate) fn stat_cache_path(&self) -> PathBuf {
        self.dir.join("stat-cache")
    }

    /// Takes the project lock, or fails at once with exit code 3 naming the holder: waiting
    /// silently in CI hides a mistake (two jobs in one workspace), failing fast shows it.
    pub(crate) fn lock(&self) -> Result<Lock> {
        std::fs::create_dir_all(self.dir.join("tasks")).map_err(|e| Error::io(&self.dir, e))?;
        let path = self.dir.join("lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0).ok();
                let _ = writeln!(file, "pid {}", std::process::id());
                Ok(Lock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .map(|s| s.trim().to_string())
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "unknown pid".into());
                Err(Error::Locked {
                    lock_file: path,
                    holder,
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    fn record_path(&self, task: &str) -> PathBuf {
        self.dir
            .join("tasks")
            .join(format!("{}.rec", file_name(task)))
    }

    /// The summary of the last success, if intact: all a no-op decision reads. Read once per
    /// process until the record changes.
    pub(crate) fn load_summary(&self, task: &str) -> Option<RecordSummary> {
        let changes = {
            let summaries = crate::sync::lock(&self.summaries);
            if let Some(known) = summaries.by_task.get(task) {
                return known.clone();
            }
            summaries.changes
        };
        let summary = self.read_summary(task);
        self.keep_summary(task, changes, summary.clone());
        summary
    }

    /// Keeps `summary`, read when the records had seen `changes` changes, unless one changed
    /// since (then what was read may be older than the file).
    fn keep_summary(&self, task: &str, changes: u64, summary: Option<RecordSummary>) {
        let mut summaries = crate::sync::lock(&self.summaries);
        if summaries.changes == changes {
            summaries.by_task.insert(task.to_string(), summary);
        }
    }

    fn read_summary(&self, task: &str) -> Option<RecordSummary> {
        // Read only the head of the file: the fingerprint after it can be large.
        use std::io::Read;
        let mut file = File::open(self.record_path(task)).ok()?;
        let total = file.metadata().ok()?.len();
        let mut head = vec![0u8; total.min(16 * 1024) as usize];
        file.read_exact(&mut head).ok()?;
        let summary_len = head
            .get(HEAD + 32..HEAD + 40)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))?;
        let needed = ((HEAD + 40) as u64).checked_add(summary_len)?;
        if needed > total {
            return None;
        }
        if needed > head.len() as u64 {
            head.resize(needed as usize, 0);
            file.read_exact(&mut head[16 * 1024..]).ok()?;
        }
        decode_summary(&head, total).map(|(summary, _)| summary)
    }

    /// The whole record of the last success (summary and full fingerprint), if intact.
    /// Its summary is kept as `load_summary` would keep it: a decision that read the whole
    /// record is often followed by the result's read of the summary (a no-op build subtask
    /// opened its record twice).
    pub(crate) fn load(&self, task: &str) -> Option<TaskRecord> {
        let changes = crate::sync::lock(&self.summaries).changes;
        let bytes = std::fs::read(self.record_path(task)).ok()?;
        let (summary, rest) = decode_summary(&bytes, bytes.len() as u64)?;
        let fingerprint: Fingerprint = decode_checked(rest)?;
        self.keep_summary(task, changes, Some(summary.clone()));
        Some(TaskRecord {
            fingerprint,
            outputs: summary.outputs,
            extra: summary.extra,
            seconds: summary.seconds,
            finished_at: summary.finished_at,
        })
    }

    /// File layout: magic, total length, then two checksummed sections (the small summary, then the
    /// fingerprint), each as `blake3 | u64 length | bincode`.
    pub(crate) fn save(&self, task: &str, record: &TaskRecord) -> Result<()> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[0; 8]); // total length, filled in below
        encode_checked(&mut bytes, &record.summary());
        encode_checked(&mut bytes, &record.fingerprint);
        let total = bytes.len() as u64;
        bytes[8..16].copy_from_slice(&total.to_le_bytes());
        let path = self.record_path(task);
        let written = crate::atomic_file::write_atomic(&path, &bytes);
        self.changed(task);
        written.map_err(|e| Error::io(&path, e))
    }

    /// Drops a task's record; done before the task starts so a killed run leaves it stale.
    pub(crate) fn forget(&self, task: &str) -> Result<bool> {
        let path = self.record_path(task);
        let removed = remove_if_written_by_dorun(&path, RECORD_KIND);
        self.changed(task);
        removed.map_err(|e| Error::io(&path, e))
    }

    /// Drops every record and the stat cache; only files that carry dorun's header are deleted,
    /// whatever else the state directory holds.
    /// `task`'s record was written or removed: its summary is read again.
    fn changed(&self, task: &str) {
        let mut summaries = crate::sync::lock(&self.summaries);
        summaries.changes += 1;
        summaries.by_task.remove(task);
    }

    pub(crate) fn forget_all(&self) -> Result<usize> {
        let dir = self.dir.join("tasks");
        let mut n = 0;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let path = e.path();
                let is_record_name = path.extension().is_some_and(|x| x == "rec");
                if is_record_name && remove_if_written_by_dorun(&path, RECORD_KIND).unwrap_or(false)
                {
                    n += 1;
                }
            }
        }
        let _ = remove_if_written_by_dorun(&self.stat_cache_path(), STAT_CACHE_KIND);
        let mut summaries = crate::sync::lock(&self.summaries);
        summaries.changes += 1;
        summaries.by_task.clear();
        Ok(n)
    }
}

/// The first bytes of every record, whatever its format version (`dorunrc2`, ...).
const RECORD_KIND: &[u8] = b"dorunrc";
/// The first bytes of the stat cache, whatever its format version.
const STAT_CACHE_KIND: &[u8] = b"dorunsc";

/// Deletes `path` only if it is a regular file starting with `header`: a file dorun wrote. A
/// symlink or a foreign file in dorun's place is left alone. Ok(false): nothing deleted.
fn remove_if_written_by_dorun(path: &Path, header: &[u8]) -> std::io::Result<bool> {
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Ok(false);
    }
    let mut start = vec![0u8; header.len()];
    let ours = File::open(path)
        .and_then(|mut f| f.read_exact(&mut start))
        .is_ok()
        && start == header;
    if !ours {
        return Ok(false);
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

const MAGIC: &[u8; 8] = b"dorunrc2";
/// Magic and total length come before the first section.
const HEAD: usize = 16;

fn encode_checked<T: serde::Serialize>(out: &mut Vec<u8>, value: &T) {
    let body = bincode::serialize(value).expect("records serialize");
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
}

/// One checksummed section, or None when torn or foreign.
fn section(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let sum = bytes.get(..32)?;
    let len = u64::from_le_bytes(bytes.get(32..40)?.try_into().ok()?) as usize;
    let body = bytes.get(40..40usize.checked_add(len)?)?;
    (blake3::hash(body).as_bytes() == sum).then(|| (body, &bytes[40 + len..]))
}

fn decode_checked<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let (body, _) = section(bytes)?;
    bincode::deserialize(body).ok()
}

/// The summary, after checking the file has its full length: a truncated record is no record,
/// even when its summary section survived.
fn decode_summary(bytes: &[u8], file_len: u64) -> Option<(RecordSummary, &[u8])> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let total = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
    if total != file_len {
        return None;
    }
    let rest = &rest[8..];
    let (body, rest) = section(rest)?;
    Some((bincode::deserialize(body).ok()?, rest))
}

/// `build:base@py311` → `build%3Abase%40py311`: readable, and safe as a file name.
fn file_name(task: &str) -> String {
    task.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_escaped() {
        assert_eq!(file_name("build:base@py311"), "build%3Abase%40py311");
        assert_eq!(file_name("lint"), "lint");
    }

    fn record() -> TaskRecord {
        TaskRecord {
            fingerprint: Default::default(),
            outputs: vec![],
            extra: Default::default(),
            seconds: 1.0,
            finished_at: 0,
        }
    }

    #[test]
    fn a_summary_is_read_once_and_follows_saves_and_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path().to_path_buf());
        assert!(state.load_summary("t").is_none());
        state.save("t", &record()).unwrap();
        assert_eq!(state.load_summary("t").unwrap().seconds, 1.0);
        // Kept: the file is not read again while this process does not change it.
        std::fs::remove_file(state.record_path("t")).unwrap();
        assert_eq!(state.load_summary("t").unwrap().seconds, 1.0);
        let again = TaskRecord {
            seconds: 2.0,
            ..record()
        };
        state.save("t", &again).unwrap();
        assert_eq!(state.load_summary("t").unwrap().seconds, 2.0);
        state.forget("t").unwrap();
        assert!(state.load_summary("t").is_none());
    }

    /// A decision that read the whole record is followed by the result's read of its summary:
    /// that one is answered from what the first read kept (the file is not opened again).
    #[test]
    fn a_record_read_whole_answers_its_summary_without_another_read() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path().to_path_buf());
        state.save("t", &record()).unwrap();
        let fresh = State::new(dir.path().to_path_buf());
        assert!(fresh.load("t").is_some());
        std::fs::remove_file(fresh.record_path("t")).unwrap();
        assert_eq!(fresh.load_summary("t").map(|s| s.seconds), Some(1.0));
    }

    #[test]
    fn torn_record_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path().to_path_buf());
        let rec = record();
        state.save("t", &rec).unwrap();
        assert!(state.load("t").is_some());
        let path = state.record_path("t");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        // The next process finds it torn (this one keeps what it read: no other process
        // writes records while it holds the lock).
        let state = State::new(dir.path().to_path_buf());
        assert!(state.load("t").is_none());
        assert!(
            state.load_summary("t").is_none(),
            "a truncated record is no record"
        );
    }

    #[test]
    fn forget_deletes_only_files_with_dorun_headers() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path().to_path_buf());
        let rec = record();
        state.save("mine", &rec).unwrap();
        assert!(MAGIC.starts_with(RECORD_KIND));
        let tasks = dir.path().join("tasks");
        std::fs::write(tasks.join("foreign.rec"), "not a record").unwrap();
        std::fs::write(tasks.join("notes.txt"), "dorunrc2 but not a .rec").unwrap();
        std::fs::write(state.stat_cache_path(), "not a cache").unwrap();
        assert!(
            !state.forget("foreign").unwrap(),
            "a foreign file was deleted"
        );
        assert_eq!(state.forget_all().unwrap(), 1);
        assert!(state.load("mine").is_none());
        assert!(tasks.join("foreign.rec").exists() && tasks.join("notes.txt").exists());
        assert!(state.stat_cache_path().exists());
        // The stat cache dorun wrote (magic `dorunsc2`, see stat_cache.rs) does go.
        std::fs::write(state.stat_cache_path(), b"dorunsc2 and its entries").unwrap();
        state.forget_all().unwrap();
        assert!(!state.stat_cache_path().exists(), "the stat cache stayed");
    }

    #[test]
    fn second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path().to_path_buf());
        let _held = state.lock().unwrap();
        let err = match state.lock() {
            Err(e) => e,
            Ok(_) => panic!("second lock granted"),
        };
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains("another dorun"));
    }
}
