//! The one error type of dorun: every user-facing message is worded here, and each variant maps to
//! the documented exit code (SPEC §2: 1 task failure, 2 bad usage or tasks.toml, 3 environment).
use std::fmt;
use std::path::PathBuf;

/// A position in a tasks.toml file, 1-based, with the offending source line for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub text: String,
}

impl Location {
    /// Turns a byte offset into line and column and remembers the source line. Builds a line
    /// index each call: for many positions in one file, build a `LineIndex` once instead.
    pub fn from_offset(file: &std::path::Path, source: &str, offset: usize) -> Location {
        LineIndex::new(source).locate(file, source, offset)
    }
}

/// Where each line of a source text starts (and where its multi-byte characters are), so that
/// turning an offset into line and column is a binary search: a 10 MB tasks.toml has hundreds of
/// thousands of spans, and scanning from the start of the file for each one made loading it
/// quadratic.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    line_starts: Vec<usize>,
    /// Offsets of UTF-8 continuation bytes: a column counts characters, not bytes.
    continuation_bytes: Vec<usize>,
}

/// A source line longer than this is shown as a window around the position.
const MAX_SHOWN_LINE: usize = 200;

impl LineIndex {
    pub(crate) fn new(source: &str) -> LineIndex {
        let bytes = source.as_bytes();
        let positions =
            |wanted: fn(u8) -> bool| (0..bytes.len()).filter(move |&i| wanted(bytes[i]));
        LineIndex {
            line_starts: std::iter::once(0)
                .chain(positions(|b| b == b'\n').map(|i| i + 1))
                .collect(),
            continuation_bytes: positions(|b| b & 0xC0 == 0x80).collect(),
        }
    }

    /// The 1-based line and column (in characters) of `offset`, with the text of its line.
    pub(crate) fn locate(&self, file: &std::path::Path, source: &str, offset: usize) -> Location {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_index = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let line_start = self.line_starts[line_index];
        let line_end = self
            .line_starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(source.len());
        let continuations =
            self.continuations_before(offset) - self.continuations_before(line_start);
        Location {
            file: file.to_path_buf(),
            line: line_index + 1,
            column: offset - line_start - continuations + 1,
            text: shown_line(source, line_start, line_end, offset),
        }
    }

    fn continuations_before(&self, offset: usize) -> usize {
        self.continuation_bytes.partition_point(|&i| i < offset)
    }
}

/// The line holding `offset`, or for a very long line the part around `offset`.
fn shown_line(source: &str, start: usize, end: usize, offset: usize) -> String {
    let line = source[start..end].trim_end();
    if line.len() <= MAX_SHOWN_LINE {
        return line.to_string();
    }
    let half = MAX_SHOWN_LINE / 2;
    let mut from = offset.saturating_sub(half).max(start);
    let mut to = (offset + half).min(start + line.len());
    while !source.is_char_boundary(from) {
        from -= 1;
    }
    while !source.is_char_boundary(to) {
        to += 1;
    }
    let before = if from > start { "…" } else { "" };
    let after = if to < start + line.len() { "…" } else { "" };
    format!("{before}{}{after}", &source[from..to])
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)?;
        if !self.text.is_empty() {
            write!(f, "\n    | {}", self.text)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum Error {
    /// tasks.toml (or checks.toml) is malformed or inconsistent.
    Config {
        at: Option<Location>,
        message: String,
    },
    /// No tasks.toml in the directory or any parent.
    NoTasksFile { searched_from: PathBuf },
    /// A task name on the command line or in `deps` that does not exist.
    UnknownTask {
        name: String,
        suggestion: Option<String>,
        at: Option<Location>,
    },
    /// A dependency cycle, as the loop of names `a -> b -> a`, at the `deps` entry starting it.
    Cycle {
        path: Vec<String>,
        at: Option<Location>,
    },
    /// Bad command-line usage not caught by clap.
    Usage(String),
    /// Docker engine or registry unreachable.
    Environment(String),
    /// Another dorun holds the project's state lock.
    Locked { lock_file: PathBuf, holder: String },
    /// A file operation dorun needed failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// One or more tasks failed (details were already printed).
    TasksFailed,
    /// `clean` removed what it could; these outputs stayed (each was already reported).
    CleanIncomplete { refused: usize, failed: usize },
    /// `prune` could not tell which images are current, or the engine kept some it was asked
    /// to remove (the message says which).
    PruneIncomplete(String),
    /// The run was interrupted by a signal.
    Interrupted,
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::TasksFailed | Error::Io { .. } => 1,
            // Refusing a path outside the project is about what tasks.toml declares.
            Error::CleanIncomplete { refused, .. } if *refused > 0 => 2,
            Error::CleanIncomplete { .. } | Error::PruneIncomplete(_) => 1,
            Error::Config { .. }
            | Error::NoTasksFile { .. }
            | Error::UnknownTask { .. }
            | Error::Cycle { .. }
            | Error::Usage(_) => 2,
            Error::Environment(_) | Error::Locked { .. } => 3,
            Error::Interrupted => 130,
        }
    }

    pub fn config(at: Option<Location>, message: impl Into<String>) -> Error {
        Error::Config {
            at,
            message: message.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { at: Some(at), message } => write!(f, "{message}\n  --> {at}"),
            Error::Config { at: None, message } => write!(f, "{message}"),
            Error::NoTasksFile { searched_from } => write!(
                f,
                "no tasks.toml found in {} or any parent directory (run `dorun init` to create one, or pass -f PATH)",
                searched_from.display()
            ),
            Error::UnknownTask { name, suggestion, at } => {
                write!(f, "unknown task `{name}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                if let Some(at) = at {
                    write!(f, "\n  --> {at}")?;
                }
                Ok(())
            }
            Error::Cycle { path, at } => {
                write!(
                    f,
                    "dependency cycle: {} (remove one of these deps to break the loop)",
                    path.join(" -> ")
                )?;
                if let Some(at) = at {
                    write!(f, "\n  --> {at}")?;
                }
                Ok(())
            }
            Error::Usage(m) => write!(f, "{m}"),
            Error::Environment(m) => write!(f, "{m}"),
            Error::Locked { lock_file, holder } => write!(
                f,
                "another dorun ({holder}) is running in this project; its lock is {} — wait for it to finish and run again",
                lock_file.display()
            ),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::TasksFailed => write!(f, "one or more tasks failed"),
            Error::CleanIncomplete { refused, failed } => write!(
                f,
                "clean removed what it could, but {refused} output(s) outside the project were \
                 refused and {failed} could not be removed (listed above)"
            ),
            Error::PruneIncomplete(m) => write!(f, "{m}"),
            Error::Interrupted => write!(f, "interrupted"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate by edit distance, when close enough to be a plausible typo.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn line_index_gives_lines_and_character_columns() {
        let source = "a = 1\nnäme = \"é\"\n\nlast";
        let index = LineIndex::new(source);
        let at = |offset| index.locate(Path::new("f"), source, offset);
        assert_eq!((at(0).line, at(0).column), (1, 1));
        assert_eq!((at(4).line, at(4).column), (1, 5));
        let quote = source.find('"').unwrap();
        assert_eq!(
            (at(quote).line, at(quote).column),
            (2, 8),
            "ä is one column"
        );
        assert_eq!(at(quote).text, "näme = \"é\"");
        let last = source.find("last").unwrap();
        assert_eq!((at(last).line, at(last).column), (4, 1));
        assert_eq!(at(source.len()).line, 4);
        // An offset inside a character is moved back to its start.
        let inside = source.find('é').unwrap() + 1;
        assert_eq!(at(inside).column, 9);
    }

    #[test]
    fn a_very_long_line_is_shown_around_the_position() {
        let source = format!("x = [{}\"here\"{}]\n", "1, ".repeat(500), ", 2".repeat(500));
        let offset = source.find("here").unwrap();
        let at = Location::from_offset(Path::new("f"), &source, offset);
        assert_eq!(at.column, offset + 1);
        assert!(at.text.contains("\"here\""), "{}", at.text);
        assert!(
            at.text.starts_with('…') && at.text.ends_with('…'),
            "{}",
            at.text
        );
        assert!(at.text.chars().count() <= MAX_SHOWN_LINE + 2);
    }
}
