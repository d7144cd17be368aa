//! The push gate (SPEC §6): nothing is pushed unless every image built in this pipeline is in
//! IMAGES_TEST_PASSED, or (a push job on a fresh runner) its handed-off test results passed. Every push subtask checks it before its first push, so a push started
//! with `--only` cannot slip past a failed or missing test either.
use crate::exec::work::TaskError;
use crate::stack::hand_off;
use crate::stack::runtime::Runtime;
use std::collections::HashSet;

/// Ok when every built image passed its tests; otherwise the refusal, naming the images.
pub(crate) fn check(rt: &Runtime) -> Result<(), TaskError> {
    let built: Vec<(usize, String)> = rt.ledger.view(rt, |book| {
        (0..book.entries.len())
            .filter(|&v| book.is_built(v))
            .map(|v| (v, book.entries[v].human_ref.clone()))
            .collect()
    })?;
    let refs: Vec<String> = built.iter().map(|(_, r)| r.clone()).collect();
    // The lists as this run has them (written, or due to be written at the end of the run), not
    // the stored results: a pass under another commit's human tag counts only once a test
    // subtask has listed the image again.
    let lists = rt.ledger.test_lists(rt);
    let mut list = Vec::new();
    for r in untested(&refs, &lists.passed) {
        let v = built.iter().find(|(_, b)| *b == r).map(|(v, _)| *v);
        // A fresh runner without the artifacts directory: the results the test job handed
        // off with the image decide (`[stack] hand-off = "registry"`).
        let elsewhere = match v {
            Some(v) => hand_off::handed_off_results(rt, v)?,
            None => None,
        };
        match elsewhere.map(|e| e.passed) {
            Some(true) => {}
            Some(false) => list.push(format!("  {r} (tests failed)")),
            None if lists.failed.contains(&r) => list.push(format!("  {r} (tests failed)")),
            None => list.push(format!("  {r} (not tested)")),
        }
    }
    if list.is_empty() {
        return Ok(());
    }
    Err(TaskError::new(format!(
        "push refused: {} built image(s) not in {}/IMAGES_TEST_PASSED, nothing pushed:\n{}\n\
         run `dorun test` and fix the failing tests first",
        list.len(),
        rt.artifacts_dir.display(),
        list.join("\n")
    )))
}

/// Built references missing from the passed list, in build order.
pub(crate) fn untested(built: &[String], passed: &HashSet<String>) -> Vec<String> {
    built
        .iter()
        .filter(|r| !passed.contains(*r))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn set(v: &[&str]) -> HashSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_built_image_must_have_passed() {
        let built = s(&["r/a:1", "r/b:1", "r/c:1"]);
        assert!(untested(&built, &set(&["r/c:1", "r/a:1", "r/b:1"])).is_empty());
        assert_eq!(untested(&built, &set(&["r/a:1"])), s(&["r/b:1", "r/c:1"]));
        assert!(untested(&[], &HashSet::new()).is_empty());
    }

    #[test]
    fn another_commits_pass_does_not_count() {
        assert_eq!(
            untested(&s(&["r/a:1-bbbbbbb"]), &set(&["r/a:1-aaaaaaa"])),
            s(&["r/a:1-bbbbbbb"])
        );
    }
}
