//! The commit a run sees (for human tags and GIT_* artifacts). Reading it with `git` is fine:
//! only Docker must go through its API.
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Default)]
pub(crate) struct GitInfo {
    pub hash: Option<String>,
    pub message: Option<String>,
}

impl GitInfo {
    pub(crate) fn read(root: &Path) -> GitInfo {
        let run = |args: &[&str]| -> Option<String> {
            let out = Command::new("git")
                .arg("-C")
                .arg(root)
                .args(args)
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
                .filter(|s| !s.is_empty())
        };
        GitInfo {
            hash: run(&["rev-parse", "HEAD"]),
            message: run(&["log", "-1", "--format=%B"]),
        }
    }

    pub(crate) fn short(&self) -> Option<String> {
        self.hash.as_ref().map(|h| h.chars().take(7).collect())
    }

    /// `<prefix>-<sha7>`, or the plain prefix outside a git checkout (SPEC §4).
    pub(crate) fn human_tag(&self, prefix: &str) -> String {
        match self.short() {
            Some(s) => format!("{prefix}-{s}"),
            None => prefix.to_string(),
        }
    }
}
