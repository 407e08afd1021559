//! File helpers every reader and writer shares: the one atomic write ([`write_atomic`]), the
//! one bounded read ([`read_limited`]), the file-name-safe form of display names
//! ([`file_stem`]) and the content hash of checkpoints and network files ([`fnv1a`]).

use std::fs;
use std::io::{Read as _, Write as _};
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

/// Reads the regular file at `path` if it holds at most `limit` bytes: `Ok(None)` if it holds
/// more (found without reading it all). Anything but a regular file — a FIFO, a device such as
/// `/dev/zero`, a directory — is refused before it is opened, so a read never blocks waiting for
/// a writer or runs until memory is exhausted.
///
/// # Errors
/// The operating system's error, or `InvalidInput` naming what the path is instead of a file.
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    // `metadata` follows symbolic links: a link to a regular file is read like the file.
    let kind = fs::metadata(path)?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what}: expected a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The 64-bit FNV-1a hash of `bytes`: the content check of checkpoints and network files (it
/// finds accidental corruption, not deliberate forgery).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
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

/// The first two of `names` whose file names (`stem` of each) coincide, if any: runs named
/// by them would write into one directory and overwrite each other.
pub fn colliding(names: &[String], stem: impl Fn(&str) -> String) -> Option<(&str, &str)> {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for name in names {
        if let Some(first) = seen.insert(stem(name), name) {
            return Some((first, name));
        }
    }
    None
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
    fn bounded_reads_refuse_large_files_and_non_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        fs::write(&path, b"12345").expect("write");
        assert_eq!(
            read_limited(&path, 5).expect("read"),
            Some(b"12345".to_vec())
        );
        assert_eq!(read_limited(&path, 4).expect("read"), None);
        let err = read_limited(dir.path(), 100).expect_err("a directory");
        assert!(err.to_string().contains("directory"), "{err}");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                // Refused at once: opening a FIFO without a writer would block.
                let err = read_limited(&fifo, 100).expect_err("a FIFO");
                assert!(err.to_string().contains("FIFO"), "{err}");
            }
            let err = read_limited(Path::new("/dev/zero"), 100).expect_err("a device");
            assert!(err.to_string().contains("regular file"), "{err}");
        }
    }

    #[test]
    fn fnv1a_reference_value() {
        // The published test vector of 64-bit FNV-1a.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn names_with_one_file_name_collide() {
        let names: Vec<String> = ["a b", "c", "a/b"].map(String::from).to_vec();
        assert_eq!(colliding(&names, file_stem), Some(("a b", "a/b")));
        let distinct: Vec<String> = ["a", "b"].map(String::from).to_vec();
        assert_eq!(colliding(&distinct, file_stem), None);
    }

    #[test]
    fn stems_keep_only_safe_characters() {
        assert_eq!(file_stem("SIP η=0.5/x"), "SIP___0_5_x");
    }
}
