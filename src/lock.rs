//! An exclusive lock on a run directory, so that two runs never write into one directory.
//!
//! The lock is an advisory file lock (`flock`) on `<dir>/.lock`, held for the life of the
//! [`RunLock`]; the operating system releases it when the process ends, so a crashed run leaves
//! no stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Name of the lock file inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// Holds the lock on a run directory until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock on `dir` (which must exist), or fails at once if another run holds it.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the directory if it is locked; [`crate::Error::Io`] if
    /// the lock file cannot be opened.
    pub fn acquire(dir: &Path) -> crate::Result<RunLock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| crate::Error::Io {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(crate::Error::Locked {
                dir: dir.to_path_buf(),
            }),
            Err(TryLockError::Error(source)) => Err(crate::Error::Io { path, source }),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
