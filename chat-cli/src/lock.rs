//! The data dir's lock file, `serve.lock`: every `chat serve` on the embedded store holds it
//! shared for as long as it runs, and `chat restore` needs it exclusively, so a restore never
//! rewrites a database under a running server, and no server starts during a restore.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{FlockOperation, flock};
use rustix::io::Errno;

use crate::{Error, data_dir};

/// The lock file's name in the data dir.
const FILE: &str = "serve.lock";

/// A held lock on the data dir; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// The lock a server holds: many servers may share it, a restore may not.
    pub fn shared(dir: &Path) -> Result<DataDirLock, Error> {
        DataDirLock::take(dir, FlockOperation::NonBlockingLockShared)
    }

    /// The lock a restore holds: only while no server runs on the data dir.
    pub fn exclusive(dir: &Path) -> Result<DataDirLock, Error> {
        DataDirLock::take(dir, FlockOperation::NonBlockingLockExclusive)
    }

    fn take(dir: &Path, operation: FlockOperation) -> Result<DataDirLock, Error> {
        data_dir::create(dir)?;
        let path = dir.join(FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| Error::Lock {
                path: path.clone(),
                source,
            })?;
        match flock(&file, operation) {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(Errno::WOULDBLOCK) => Err(Error::Locked {
                dir: dir.to_owned(),
            }),
            Err(errno) => Err(Error::Lock {
                path,
                source: errno.into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_share_the_lock_and_a_restore_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let one = DataDirLock::shared(dir.path()).unwrap();
        let two = DataDirLock::shared(dir.path()).unwrap();
        assert!(matches!(
            DataDirLock::exclusive(dir.path()),
            Err(Error::Locked { .. })
        ));
        drop((one, two));
        let restore = DataDirLock::exclusive(dir.path()).unwrap();
        assert!(matches!(
            DataDirLock::shared(dir.path()),
            Err(Error::Locked { .. })
        ));
        drop(restore);
    }
}
