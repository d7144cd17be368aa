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
    /// Turns a byte offset into line and column and remembers the source line.
    pub fn from_offset(file: &std::path::Path, source: &str, offset: usize) -> Location {
        let offset = offset.min(source.len());
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = source[line_start..offset].chars().count() + 1;
        let text = source[line_start..]
            .lines()
            .next()
            .unwrap_or("")
            .trim_end()
            .to_string();
        Location {
            file: file.to_path_buf(),
            line,
            column,
            text,
        }
    }
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
    /// A dependency cycle, as the loop of names `a -> b -> a`.
    Cycle { path: Vec<String> },
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
    /// The run was interrupted by a signal.
    Interrupted,
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::TasksFailed | Error::Io { .. } => 1,
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
            Error::Cycle { path } => write!(f, "dependency cycle: {}", path.join(" -> ")),
            Error::Usage(m) => write!(f, "{m}"),
            Error::Environment(m) => write!(f, "{m}"),
            Error::Locked { lock_file, holder } => write!(
                f,
                "another dorun ({holder}) is running in this project; its lock is {} — wait for it to finish and run again",
                lock_file.display()
            ),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::TasksFailed => write!(f, "one or more tasks failed"),
            Error::Interrupted => write!(f, "interrupted"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate by edit distance, when close enough to be a plausible typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}
