//! One test case's result (a check or a script against one image), how it is written to the
//! task's log, and the output tail kept for reports.
use std::fmt::Write as _;
use std::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct CaseResult {
    /// `images/base/test/checks.toml: file /etc/os-release`, `images/base/test/test_busybox`.
    pub name: String,
    pub passed: bool,
    pub seconds: f64,
    /// Why it failed, in one or a few lines; empty when it passed.
    pub message: String,
    /// Everything it printed (stdout then stderr) or read, for the log.
    pub output: String,
}

impl CaseResult {
    pub(crate) fn start(name: impl Into<String>) -> CaseBuilder {
        CaseBuilder {
            name: name.into(),
            started: Instant::now(),
        }
    }

    /// The block written to the log: a header, the output, the verdict.
    pub(crate) fn log_text(&self) -> String {
        let mut s = format!("=== {}\n", self.name);
        if !self.output.is_empty() {
            s.push_str(&self.output);
            if !self.output.ends_with('\n') {
                s.push('\n');
            }
        }
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        let _ = write!(s, "--- {verdict} {} ({:.2}s)", self.name, self.seconds);
        if !self.message.is_empty() {
            let _ = write!(s, ": {}", self.message);
        }
        s.push('\n');
        s
    }
}

/// Times a case from its start to its verdict.
pub(crate) struct CaseBuilder {
    name: String,
    started: Instant,
}

impl CaseBuilder {
    pub(crate) fn pass(self, output: String) -> CaseResult {
        self.finish(true, String::new(), output)
    }

    pub(crate) fn fail(self, message: impl Into<String>, output: String) -> CaseResult {
        self.finish(false, message.into(), output)
    }

    pub(crate) fn finish(self, passed: bool, message: String, output: String) -> CaseResult {
        CaseResult {
            name: self.name,
            passed,
            seconds: (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            message,
            output,
        }
    }
}

/// A container's output as one text: stdout, then stderr under a marker when there is any.
pub(super) fn combined_output(stdout: &str, stderr: &str) -> String {
    let mut s = stdout.to_string();
    if !stderr.is_empty() {
        if !s.is_empty() && !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str("--- stderr\n");
        s.push_str(stderr);
    }
    s
}

/// The last `lines` lines of `text`, at most `bytes` bytes: what reports keep of an output.
pub(super) fn tail(text: &str, lines: usize, bytes: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    if out.len() > bytes {
        let mut cut = out.len() - bytes;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = format!("…{}", &out[cut..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_end() {
        assert_eq!(tail("a\nb\nc\n", 2, 100), "b\nc");
        assert_eq!(tail("abcdef", 5, 3), "…def");
        assert_eq!(tail("", 5, 3), "");
    }

    #[test]
    fn log_block_has_header_output_and_verdict() {
        let mut c = CaseResult::start("t").fail("exit code 1, expected 0", "out\n".into());
        c.seconds = 0.5;
        assert_eq!(
            c.log_text(),
            "=== t\nout\n--- FAIL t (0.50s): exit code 1, expected 0\n"
        );
        assert_eq!(combined_output("a", "b\n"), "a\n--- stderr\nb\n");
    }
}
