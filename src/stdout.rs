//! The stdout of the commands that print for a reader (list, info, plan, graph, forget, clean,
//! prune, init, ci): lines go through one buffer, so a listing of thousands of subtasks is a few
//! writes instead of one per line, and a reader that stops reading (`dorun graph | head`) ends
//! the printing quietly, where `println!` panicked (exit 101). Runs report on stderr instead.
use crate::error::{Error, Result};
use std::fmt::Display;
use std::io::{self, BufWriter, LineWriter, Write};

pub(crate) struct Stdout {
    /// A buffer over stdout's lock. When the reader is gone, its drop tries the rest once more
    /// and ignores the error (Rust ignores SIGPIPE, so a write to a closed pipe only fails).
    out: Box<dyn Write>,
    /// The reader went away (a broken pipe): what is left is not printed, and not an error.
    closed: bool,
    /// The first other write error, reported by `finish`.
    failed: Option<io::Error>,
}

impl Stdout {
    /// Lines written when the buffer fills and at `finish`.
    pub(crate) fn buffered() -> Stdout {
        Stdout::over(Box::new(BufWriter::with_capacity(
            64 * 1024,
            io::stdout().lock(),
        )))
    }

    /// Each line written as soon as it is complete: for commands whose lines report work as it
    /// is done (`clean`, `prune`), so that a slow step shows what came before it.
    pub(crate) fn per_line() -> Stdout {
        Stdout::over(Box::new(LineWriter::new(io::stdout().lock())))
    }

    fn over(out: Box<dyn Write>) -> Stdout {
        Stdout {
            out,
            closed: false,
            failed: None,
        }
    }

    /// `text` and a newline.
    pub(crate) fn line(&mut self, text: impl Display) {
        self.text(format_args!("{text}\n"));
    }

    /// `text` as it is (a document that ends in its own newline).
    pub(crate) fn text(&mut self, text: impl Display) {
        if self.closed || self.failed.is_some() {
            return;
        }
        if let Err(e) = write!(self.out, "{text}") {
            self.fail(e);
        }
    }

    /// Writes what is buffered. A reader that went away is not an error (like `git log | head`
    /// it only stopped wanting more); any other write error is, naming stdout.
    pub(crate) fn finish(mut self) -> Result<()> {
        if !self.closed && self.failed.is_none() {
            if let Err(e) = self.out.flush() {
                self.fail(e);
            }
        }
        match self.failed.take() {
            Some(e) => Err(Error::io("<stdout>", e)),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: io::Error) {
        match e.kind() {
            io::ErrorKind::BrokenPipe => self.closed = true,
            _ => self.failed = Some(e),
        }
    }
}
