//! Exact comparison of output that is a contract (messages with file:line:column, `list`, `plan`,
//! `info`, `graph`, run summaries, IMAGES_* lists), through snapbox: what differs from run to run
//! is redacted first, so the expected text is the whole output, not a search in it.
//!
//! Placeholders: `[ROOT]` the project directory, `[REGISTRY]` and `[NAMESPACE]` a stack's
//! (added by `StackFixture`), `[ID]` the 12 hex digits of a content tag, `[DIGEST]` a sha256
//! digest, `[ELAPSED]` a duration such as `0.3s`. In expected text `[..]` matches any part of a
//! line and `...` on a line of its own any lines. `SNAPSHOTS=overwrite cargo test ...` rewrites
//! inline `str![]` snapshots from what dorun printed.
use crate::harness::Project;
use snapbox::{Assert, IntoData, Redactions};

fn redactions(project: &Project) -> Redactions {
    let regex = |re: &str| regex::Regex::new(re).unwrap();
    let mut r = Redactions::new();
    for (placeholder, text) in project.redactions() {
        r.insert(placeholder, text).unwrap();
    }
    r.insert("[ID]", regex(r"-id-(?<redacted>[0-9a-f]{12})\b"))
        .unwrap();
    r.insert("[DIGEST]", regex(r"sha256:[0-9a-f]{64}")).unwrap();
    r.insert("[ELAPSED]", regex(r"\b[0-9]+\.[0-9]+s\b"))
        .unwrap();
    r
}

/// `actual`, redacted for `project`, equals `expected`.
#[track_caller]
pub(crate) fn assert_eq(project: &Project, actual: String, expected: impl IntoData) {
    Assert::new()
        .action_env(snapbox::assert::DEFAULT_ACTION_ENV)
        .redact_with(redactions(project))
        // dorun prints non-UTF-8 bytes as `\xNN`: a backslash is no Windows path separator here.
        .normalize_paths(false)
        .eq(actual, expected);
}
