//! The labels that tie each container to this run and project (see `dorun_docker::Owner`):
//! the project is its state directory on this host, so two checkouts, or two CI jobs sharing
//! a remote engine, never sweep each other's containers; the run is this process.
use dorun_docker::Owner;
use std::path::Path;

/// The owner of the containers this process makes for the project whose state is `state_dir`.
pub(crate) fn of(state_dir: &Path) -> Owner {
    let state_dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    let mut h = blake3::Hasher::new();
    h.update(host_name().as_bytes());
    h.update(b"\0");
    h.update(state_dir.as_os_str().as_encoded_bytes());
    let project = h.finalize().to_hex()[..16].to_string();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Owner {
        project,
        run: format!("{}-{started:x}", std::process::id()),
    }
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match ok {
        true => String::from_utf8_lossy(&buf[..len]).into_owned(),
        false => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_project_per_state_dir_one_run_per_process_start() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = of(a.path());
        let again = of(a.path());
        assert_eq!(first.project, again.project);
        assert_eq!(first.project.len(), 16);
        assert_ne!(first.project, of(b.path()).project);
        assert!(first.run.starts_with(&format!("{}-", std::process::id())));
    }
}
