//! Which tests apply to an image variant (SPEC §5): the `common-tests` folder, every ancestor's
//! `test/` folder (root ancestor first), then the image's own `images/X/test/`; and which files in
//! those folders are tests (`checks.toml`, executable `test_*` files).
use crate::config::stack_model::StackSpec;
use crate::fingerprint::{files, Hash, StatCache};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The file in a test folder that holds declarative checks.
pub(crate) const CHECKS_FILE: &str = "checks.toml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Checks,
    Script,
}

/// One test file, with project-relative paths (`/` separators) for names and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestFile {
    pub kind: Kind,
    /// The folder it came from, e.g. `images/base/test`.
    pub dir: String,
    /// `images/base/test/test_busybox`.
    pub rel: String,
    /// `test_busybox`.
    pub file_name: String,
}

/// Which of the stack's possible test folders exist (the `common-tests` folder and each
/// image's `images/X/test/`), found with one stat each, once per run: every variant's folders
/// are then answered from it, not by statting its ancestors' folders again.
#[derive(Debug, Default)]
pub(crate) struct TestFolders {
    /// In the order they are declared: `common-tests`, then the images'.
    ordered: Vec<String>,
    existing: std::collections::HashSet<String>,
}

impl TestFolders {
    pub(crate) fn find(root: &Path, spec: &StackSpec) -> TestFolders {
        let mut candidates: Vec<String> = spec.common_tests.iter().cloned().collect();
        candidates.extend(
            spec.images
                .iter()
                .map(|i| format!("{}/{}/test", spec.images_dir, i.name)),
        );
        let ordered: Vec<String> = candidates
            .into_iter()
            .map(|d| normalized(&d))
            .filter(|d| root.join(d).is_dir())
            .collect();
        let existing = ordered.iter().cloned().collect();
        TestFolders { ordered, existing }
    }

    /// Every test folder of the stack, for validation at load time.
    pub(crate) fn all(&self) -> impl Iterator<Item = &str> {
        self.ordered.iter().map(String::as_str)
    }

    /// The test folders of variant `v`, in the order their tests run: the `common-tests`
    /// folder, every ancestor's (root ancestor first), then its own. Folders that do not
    /// exist are left out: an image without tests is fine.
    pub(crate) fn of(&self, spec: &StackSpec, v: usize) -> Vec<String> {
        let mut chain = Vec::new();
        let mut at = Some(v);
        while let Some(i) = at {
            chain.push(spec.variants[i].image.clone());
            at = spec.variants[i].parent;
        }
        chain.reverse();
        let mut dirs: Vec<String> = spec.common_tests.iter().cloned().collect();
        dirs.extend(
            chain
                .iter()
                .map(|image| format!("{}/{image}/test", spec.images_dir)),
        );
        dirs.iter()
            .map(|d| normalized(d))
            .filter(|d| self.existing.contains(d))
            .collect()
    }
}

/// A folder as `TestFolders` keys it: no leading `./`, no trailing `/`.
fn normalized(dir: &str) -> String {
    dir.trim_start_matches("./")
        .trim_end_matches('/')
        .to_string()
}

/// The tests of one folder: `checks.toml` first, then executable `test_*` files by name.
/// Non-executable `test_*` files are returned in `ignored` so the log can say why they did not run.
pub(crate) fn tests_in(root: &Path, dir: &str) -> (Vec<TestFile>, Vec<String>) {
    let mut tests = Vec::new();
    let mut ignored = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return (tests, ignored);
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    let file = |name: &str, kind| TestFile {
        kind,
        dir: dir.to_string(),
        rel: format!("{dir}/{name}"),
        file_name: name.to_string(),
    };
    if names.iter().any(|n| n == CHECKS_FILE) && root.join(dir).join(CHECKS_FILE).is_file() {
        tests.push(file(CHECKS_FILE, Kind::Checks));
    }
    for name in names.iter().filter(|n| n.starts_with("test_")) {
        // Follows a symlink: a linked script is as good as a copied one.
        let Ok(meta) = std::fs::metadata(root.join(dir).join(name)) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if meta.permissions().mode() & 0o111 != 0 {
            tests.push(file(name, Kind::Script));
        } else {
            ignored.push(format!("{dir}/{name}"));
        }
    }
    (tests, ignored)
}

/// All tests of a variant, in run order, and the non-executable `test_*` files that were skipped.
pub(crate) fn tests_of(root: &Path, dirs: &[String]) -> (Vec<TestFile>, Vec<String>) {
    let mut tests = Vec::new();
    let mut ignored = Vec::new();
    for dir in dirs {
        let (t, i) = tests_in(root, dir);
        tests.extend(t);
        ignored.extend(i);
    }
    (tests, ignored)
}

/// Every file of the variant's test folders (helpers too: they are uploaded beside the scripts),
/// hashed through the stat cache, sorted by path.
pub(crate) fn hash_inputs(
    root: &Path,
    dirs: &[String],
    cache: &StatCache,
) -> std::io::Result<Vec<(String, Hash)>> {
    let expansion = files::expand(root, dirs);
    files::hash_all(root, &expansion.files, cache)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::stack_model::{ImageSpec, TestLimits, Variant, DEFAULT_TEST_TIMEOUT};

    fn image(name: &str, parent: Option<&str>) -> ImageSpec {
        ImageSpec {
            name: name.into(),
            parent: parent.map(str::to_string),
            build_args: Default::default(),
            skip_plans: Vec::new(),
            manifests: Vec::new(),
            test: TestLimits {
                memory_bytes: None,
                cpus: None,
                network: None,
                timeout: DEFAULT_TEST_TIMEOUT,
                tmpfs: Vec::new(),
                services: Default::default(),
            },
            budgets: Default::default(),
            dockerfile: "Dockerfile".into(),
            target: None,
            per_plan: Default::default(),
            measure: None,
        }
    }

    fn spec() -> StackSpec {
        let variant = |key: &str, parent| Variant {
            key: key.into(),
            image: key.into(),
            plan: None,
            parent,
        };
        StackSpec {
            images_dir: "images".into(),
            registry: None,
            namespace: String::new(),
            tag_prefix: "t".into(),
            stable_tag: "stable".into(),
            rebuild_all_on: Vec::new(),
            common_tests: Some("common".into()),
            builder: dorun_docker::Builder::Classic,
            hand_off: crate::config::hand_off::HandOff::None,
            staging_namespace: "staging".into(),
            keep_images: Default::default(),
            published_memory: std::time::Duration::ZERO,
            rebuild_every: None,
            secrets: Vec::new(),
            plans: Vec::new(),
            images: vec![
                image("base", None),
                image("mid", Some("base")),
                image("leaf", Some("mid")),
            ],
            manifests: Default::default(),
            variants: vec![
                variant("base", None),
                variant("mid", Some(0)),
                variant("leaf", Some(1)),
            ],
            measure: None,
        }
    }

    fn touch(root: &Path, rel: &str, mode: u32) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn common_then_ancestors_root_first_then_own() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["common", "images/base/test", "images/leaf/test"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        // mid has no test folder: skipped, not an error.
        let folders = TestFolders::find(root, &spec());
        assert_eq!(
            folders.of(&spec(), 2),
            ["common", "images/base/test", "images/leaf/test"]
        );
        assert_eq!(folders.of(&spec(), 0), ["common", "images/base/test"]);
    }

    #[test]
    fn checks_first_then_executable_scripts_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, "t/test_b", 0o755);
        touch(root, "t/test_a", 0o700);
        touch(root, "t/test_plain", 0o644);
        touch(root, "t/helper.sh", 0o755);
        touch(root, "t/checks.toml", 0o644);
        let (tests, ignored) = tests_in(root, "t");
        let names: Vec<&str> = tests.iter().map(|t| t.rel.as_str()).collect();
        assert_eq!(names, ["t/checks.toml", "t/test_a", "t/test_b"]);
        assert_eq!(tests[0].kind, Kind::Checks);
        assert_eq!(tests[1].kind, Kind::Script);
        assert_eq!(ignored, ["t/test_plain"]);
    }
}
