//! The push gate (SPEC §6): nothing is pushed unless every image built in this pipeline is in
//! IMAGES_TEST_PASSED. Every push subtask checks it before its first push, so a push started
//! with `--only` cannot slip past a failed or missing test either.
use crate::exec::work::TaskError;
use crate::stack::artifacts;
use crate::stack::runtime::Runtime;

/// Ok when every built image passed its tests; otherwise the refusal, naming the images.
pub(crate) fn check(rt: &Runtime) -> Result<(), TaskError> {
    let built = rt.ledger.view(rt, |book| book.built_refs())?;
    // The lists as written, not the ledger's results: a pass under another commit's human tag
    // counts only once a test subtask has listed the image again.
    let passed = artifacts::read_list(rt, "IMAGES_TEST_PASSED");
    let missing = untested(&built, &passed);
    if missing.is_empty() {
        return Ok(());
    }
    let failed = artifacts::read_list(rt, "IMAGES_TEST_ERROR");
    let list: Vec<String> = missing
        .iter()
        .map(|r| match failed.contains(r) {
            true => format!("  {r} (tests failed)"),
            false => format!("  {r} (not tested)"),
        })
        .collect();
    Err(TaskError::new(format!(
        "push refused: {} built image(s) not in {}/IMAGES_TEST_PASSED, nothing pushed:\n{}\n\
         run `dorun test` and fix the failing tests first",
        missing.len(),
        rt.artifacts_dir.display(),
        list.join("\n")
    )))
}

/// Built references missing from the passed list, in build order.
pub(crate) fn untested(built: &[String], passed: &[String]) -> Vec<String> {
    built
        .iter()
        .filter(|r| !passed.contains(r))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_built_image_must_have_passed() {
        let built = s(&["r/a:1", "r/b:1", "r/c:1"]);
        assert!(untested(&built, &s(&["r/c:1", "r/a:1", "r/b:1"])).is_empty());
        assert_eq!(untested(&built, &s(&["r/a:1"])), s(&["r/b:1", "r/c:1"]));
        assert!(untested(&[], &[]).is_empty());
    }

    #[test]
    fn another_commits_pass_does_not_count() {
        assert_eq!(
            untested(&s(&["r/a:1-bbbbbbb"]), &s(&["r/a:1-aaaaaaa"])),
            s(&["r/a:1-bbbbbbb"])
        );
    }
}
