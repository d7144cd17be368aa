//! A map kept in the state directory across runs as a file that only grows by appended
//! `<key> <value>` lines (the last line of a key wins). One write per line, so appends of whole
//! lines by concurrent runs do not interleave; a line the owner's check refuses (a write cut
//! short by a killed run) is skipped. Losing the file costs the questions it saved, never a
//! wrong answer, so a file that cannot be read or written is not an error.
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub(crate) struct AppendedMemo {
    path: PathBuf,
    /// Whether a `(key, value)` line read back is whole.
    is_whole: fn(&str, &str) -> bool,
    entries: OnceLock<Mutex<HashMap<String, String>>>,
}

impl AppendedMemo {
    /// The memo in `state_dir/file`, read on first use.
    pub(crate) fn new(state_dir: &Path, file: &str, is_whole: fn(&str, &str) -> bool) -> Self {
        AppendedMemo {
            path: state_dir.join(file),
            is_whole,
            entries: OnceLock::new(),
        }
    }

    /// The value last recorded for `key`, by this run or an earlier one.
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        crate::sync::lock(self.entries()).get(key).cloned()
    }

    /// Records `value` for `key`, for this run and later ones (keys and values hold no space
    /// or newline). Nothing is appended when the value is already the recorded one.
    pub(crate) fn put(&self, key: &str, value: &str) {
        let mut entries = crate::sync::lock(self.entries());
        if entries.get(key).map(String::as_str) == Some(value) {
            return;
        }
        entries.insert(key.to_string(), value.to_string());
        let appended = std::fs::create_dir_all(self.path.parent().unwrap_or(Path::new(".")))
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
            })
            // One write per line: appends of whole lines do not interleave.
            .and_then(|mut file| file.write_all(format!("{key} {value}\n").as_bytes()));
        drop(appended);
    }

    fn entries(&self) -> &Mutex<HashMap<String, String>> {
        self.entries.get_or_init(|| {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            Mutex::new(parse(&text, self.is_whole))
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
}
