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
        // One git process, not two: every run of a stack starts with this.
        let Some(out) = run(&["log", "-1", "--format=%H%n%B"]) else {
            return GitInfo::default();
        };
        let (hash, message) = out.split_once('\n').unwrap_or((&out, ""));
        let message = message.trim_end();
        GitInfo {
            hash: Some(hash.to_string()),
            message: (!message.is_empty()).then(|| message.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn the_commit_and_its_whole_message_from_one_git_run() {
        let dir = tempfile::tempdir().unwrap();
        assert!(GitInfo::read(dir.path()).hash.is_none(), "not a checkout");
        git(dir.path(), &["init", "-q"]);
        assert!(GitInfo::read(dir.path()).hash.is_none(), "no commit yet");
        git(
            dir.path(),
            &[
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "subject\n\nbody line",
            ],
        );
        let info = GitInfo::read(dir.path());
        let hash = info.hash.expect("a commit");
        assert!(
            hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{hash}"
        );
        assert_eq!(info.message.as_deref(), Some("subject\n\nbody line"));
    }
}
