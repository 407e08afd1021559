//! File helpers every writer shares: the one atomic write ([`write_atomic`]) and the
//! file-name-safe form of display names ([`file_stem`]).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically: the parent directories are created, the bytes go to a
/// temporary file beside `path` whose name no other writer uses (`.<name>.tmp-<pid>-<n>`),
/// which is synced and renamed over `path`. Readers see the old file or the new one, never a
/// partial one; on any error the temporary file is removed.
///
/// # Errors
/// [`crate::Error::Io`] naming the path that failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| crate::Error::Io { path, source }
    };
    let name = path.file_name().ok_or_else(|| {
        io_error(path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file path",
        ))
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let tmp: PathBuf = path.with_file_name(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        // Best effort: the temporary file may not exist.
        let _ = fs::remove_file(&tmp);
        return Err(io_error(&tmp)(e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error(path)(e)
    })
}

/// The file-name-safe form of a display name (a scenario's or a method's): ASCII letters,
/// digits, `-` and `_` are kept, every other character becomes `_`. The result has no path
/// separator and no `.`, so it names one entry inside a directory and never leaves it. The
/// same rule names checkpoint files (`checkpoints/<stem>.json`).
pub fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub").join("file.json");
        write_atomic(&path, b"one").expect("first write");
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        let entries: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .collect();
        assert_eq!(entries.len(), 1, "only the file itself remains");
    }

    #[test]
    fn a_failed_write_names_the_path_and_cleans_up() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A directory in the way of the rename.
        let path = dir.path().join("taken");
        fs::create_dir(&path).expect("dir");
        fs::write(path.join("inside"), b"x").expect("file inside");
        let err = write_atomic(&path, b"data").expect_err("rename over a directory fails");
        assert!(err.to_string().contains("taken"), "{err}");
        let left: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "temporary file removed");
    }

    #[test]
    fn stems_keep_only_safe_characters() {
        assert_eq!(file_stem("SIP η=0.5/x"), "SIP___0_5_x");
    }
}
