//! A map kept in the state directory across runs as a file that only grows by appended
//! `<key> <value>` lines (the last line of a key wins). One write per line, so appends of whole
//! lines by concurrent runs do not interleave; a line the owner's check refuses (a write cut
//! short by a killed run) is skipped. Losing the file costs the questions it saved, never a
//! wrong answer, so a file that cannot be read or written is not an error.
//!
//! A file read back with many more lines than keys (values replaced run after run, e.g. the
//! published memory's timestamps) is rewritten with one line per key, atomically: it does not
//! grow without end. A line another run appends meanwhile may be lost by the rewrite, which
//! costs that run's answer, nothing more.
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub(crate) struct AppendedMemo {
    path: PathBuf,
    /// Whether a `(key, value)` line read back is whole.
    is_whole: fn(&str, &str) -> bool,
    loaded: OnceLock<Mutex<Loaded>>,
}

/// The memo as read, and the file opened once for this process's appends.
struct Loaded {
    entries: HashMap<String, String>,
    appends: Option<File>,
}

/// A file is rewritten when its lines outnumber its keys by this factor (plus `SLACK`).
const LINES_PER_KEY: usize = 2;
const SLACK: usize = 64;

impl AppendedMemo {
    /// The memo in `state_dir/file`, read on first use.
    pub(crate) fn new(state_dir: &Path, file: &str, is_whole: fn(&str, &str) -> bool) -> Self {
        AppendedMemo {
            path: state_dir.join(file),
            is_whole,
            loaded: OnceLock::new(),
        }
    }

    /// The value last recorded for `key`, by this run or an earlier one.
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        crate::sync::lock(self.loaded()).entries.get(key).cloned()
    }

    /// Records `value` for `key`, for this run and later ones (keys and values hold no space
    /// or newline). Nothing is appended when the value is already the recorded one.
    pub(crate) fn put(&self, key: &str, value: &str) {
        let mut loaded = crate::sync::lock(self.loaded());
        if loaded.entries.get(key).map(String::as_str) == Some(value) {
            return;
        }
        loaded.entries.insert(key.to_string(), value.to_string());
        if loaded.appends.is_none() {
            loaded.appends = std::fs::create_dir_all(self.path.parent().unwrap_or(Path::new(".")))
                .and_then(|()| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&self.path)
                })
                .ok();
        }
        if let Some(file) = &mut loaded.appends {
            // One write per line: appends of whole lines do not interleave.
            let _ = file.write_all(format!("{key} {value}\n").as_bytes());
        }
    }

    fn loaded(&self) -> &Mutex<Loaded> {
        self.loaded.get_or_init(|| {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            let entries = parse(&text, self.is_whole);
            if text.lines().count() > entries.len() * LINES_PER_KEY + SLACK {
                let mut lines: Vec<String> =
                    entries.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
                lines.sort();
                let _ = crate::atomic_file::write_atomic(&self.path, lines.concat().as_bytes());
            }
            Mutex::new(Loaded {
                entries,
                appends: None,
            })
        })
    }
}

/// The whole `<key> <value>` lines of `text`, the last of each key winning.
fn parse(text: &str, is_whole: fn(&str, &str) -> bool) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(key, value)| is_whole(key, value))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(_key: &str, value: &str) -> bool {
        value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit())
    }

    #[test]
    fn a_value_recorded_by_one_run_is_read_by_the_next_the_last_wins_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let first = AppendedMemo::new(dir.path(), "memo", digits);
        assert_eq!(first.get("a"), None);
        first.put("a", "1111");
        first.put("a", "1111");
        first.put("b", "2222");
        first.put("a", "3333");
        assert_eq!(first.get("a").as_deref(), Some("3333"));
        let path = dir.path().join("memo");
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().count(),
            3,
            "an unchanged value is not appended again"
        );
        // A line cut short by a killed run.
        text.push_str("b 44");
        std::fs::write(&path, &text).unwrap();
        let next = AppendedMemo::new(dir.path(), "memo", digits);
        assert_eq!(next.get("a").as_deref(), Some("3333"));
        assert_eq!(next.get("b").as_deref(), Some("2222"));
    }

    #[test]
    fn a_file_of_many_replaced_values_is_rewritten_with_one_line_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo");
        let mut text: String = (1000..1200).map(|n| format!("a {n}\n")).collect();
        text.push_str("b 2222\n");
        std::fs::write(&path, &text).unwrap();
        let memo = AppendedMemo::new(dir.path(), "memo", digits);
        assert_eq!(memo.get("a").as_deref(), Some("1199"), "the last line wins");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 1199\nb 2222\n");
        // Appends go on after the rewrite, and a few replaced values are left as they are.
        memo.put("a", "3333");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a 1199\nb 2222\na 3333\n"
        );
        let next = AppendedMemo::new(dir.path(), "memo", digits);
        assert_eq!(next.get("a").as_deref(), Some("3333"));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    }
}
