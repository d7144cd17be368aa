//! Files written whole or not at all: a temp file named `.dorun-tmp.*` beside the target, then
//! a rename; and the sweep of the temp files a killed dorun left behind.
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of every temp file `write_atomic` makes: a dorun killed between create and rename
/// leaves one behind, and only files so named are swept.
pub(crate) const TEMP_PREFIX: &str = ".dorun-tmp.";

/// Removes the temp files a killed dorun left in the directories it writes (and their
/// sub-directories one level down: artifacts/build, artifacts/test, …). Called with the project
/// lock held, so no live dorun is writing them; returns how many were removed.
pub(crate) fn sweep_temp_files(dirs: &[PathBuf]) -> usize {
    let mut removed = 0;
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir)
            .max_depth(2)
            .into_iter()
            .flatten()
        {
            let ours = entry
                .file_name()
                .as_encoded_bytes()
                .starts_with(TEMP_PREFIX.as_bytes());
            if ours && entry.file_type().is_file() && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// Temp file in the same directory + rename: readers (and a dorun killed at any instant) see
/// the old or the new file, never a torn one. No fsync: a record is checksummed and its
/// outputs are re-hashed before it is trusted, so even a power cut can only make a task run
/// again, never look done; fsyncing every record would cost more than the tasks themselves in
/// a no-op-heavy workload (see the README's design notes). The file gets the mode a plain
/// create would give it (0666 less the umask, 0644 usually), not the temp file's private 0600:
/// artifacts are build outputs that other users and CI steps read.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like `write_atomic`, for content streamed in by `write` (an image archive): the file appears
/// under `path` only once `write` returned Ok; on an error (or a kill) only the temp file is
/// left, removed at once or by the next run's sweep.
pub(crate) fn write_atomic_with<E: From<std::io::Error>>(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<(), E>,
) -> Result<(), E> {
    use std::os::unix::fs::PermissionsExt;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let mut file = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(parent)?;
    write(file.as_file_mut())?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_get_the_mode_of_a_plain_create() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let atomic = dir.path().join("atomic");
        write_atomic(&atomic, b"x").unwrap();
        let mode = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode(&atomic), mode(&plain));
    }

    #[test]
    fn a_failed_streamed_write_leaves_neither_the_file_nor_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        let result = write_atomic_with(&path, |file| {
            file.write_all(b"half an archive")?;
            Err(std::io::Error::other("the engine went away"))
        });
        assert!(result.is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        write_atomic_with(&path, |file| file.write_all(b"whole")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
    }
}
