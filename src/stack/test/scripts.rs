//! Script tests: an executable `test_*` file is uploaded with the rest of its folder (helpers it
//! may source) into a fresh container through the engine's archive API — so it works the same
//! with a remote engine — and run there; exit code 0 passes.
use super::case::{combined_output, CaseResult};
use super::discover::TestFile;
use super::target::Target;
use dorun_docker::UploadFile;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Where a test's folder lands in the container: out of the way of the image's own files.
pub(super) const CONTAINER_DIR: &str = "/dorun/test";

pub(super) fn run_script(target: &Target, root: &Path, test: &TestFile) -> CaseResult {
    let case = CaseResult::start(test.rel.clone());
    let files = match folder_files(root, &test.dir) {
        Ok(files) => files,
        Err(e) => return case.fail(format!("cannot read {}: {e}", test.dir), String::new()),
    };
    let script = format!("{CONTAINER_DIR}/{}", test.file_name);
    let env = [("DORUN_TEST_DIR".to_string(), CONTAINER_DIR.to_string())].into();
    let r = match target.run(&test.rel, vec![script], &env, files) {
        Ok(r) => r,
        Err(e) => return case.fail(format!("could not run {}: {e}", test.rel), String::new()),
    };
    let output = target.applied(&r) + &combined_output(&r.stdout, &r.stderr);
    if r.timed_out {
        case.fail(target.timeout_message(), output)
    } else if r.exit_code != 0 {
        case.fail(format!("exit code {}", r.exit_code), output)
    } else {
        case.pass(output)
    }
}

/// Every regular file under `root/dir`, placed under [`CONTAINER_DIR`] with its executable bit.
fn folder_files(root: &Path, dir: &str) -> std::io::Result<Vec<UploadFile>> {
    let base = root.join(dir);
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&base)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(std::io::Error::other)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&base)
            .map_err(std::io::Error::other)?
            .to_string_lossy()
            .replace('\\', "/");
        let exec = entry
            .metadata()
            .map_err(std::io::Error::other)?
            .permissions()
            .mode()
            & 0o111;
        files.push(UploadFile {
            path: format!("{CONTAINER_DIR}/{rel}"),
            mode: if exec != 0 { 0o755 } else { 0o644 },
            contents: std::fs::read(entry.path())?,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_uploads_keep_layout_and_exec_bit() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("t/lib")).unwrap();
        std::fs::write(root.join("t/test_a"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            root.join("t/test_a"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        std::fs::write(root.join("t/lib/helper.sh"), "x=1\n").unwrap();
        let files = folder_files(root, "t").unwrap();
        let got: Vec<(&str, u32)> = files.iter().map(|f| (f.path.as_str(), f.mode)).collect();
        assert_eq!(
            got,
            [
                ("/dorun/test/lib/helper.sh", 0o644),
                ("/dorun/test/test_a", 0o755)
            ]
        );
    }
}
