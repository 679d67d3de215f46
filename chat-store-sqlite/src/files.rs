//! The database's files on disk: they hold password hashes and every message, so only the
//! owner may read them. Directories the store creates are 0700; the database file is created
//! 0600 before SQLite opens it, and SQLite gives the WAL and shared-memory files it creates
//! the database file's mode. Files left with a looser mode (by an older release, a copy or a
//! restore) are tightened at every open.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::SqliteError;

/// Mode of the directories the store creates.
const DIR_MODE: u32 = 0o700;
/// Mode of the database and its companion files.
const FILE_MODE: u32 = 0o600;
/// What SQLite appends to the database's name for its companion files.
pub(crate) const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Creates the database's directory (0700) and the empty database file (0600) if missing,
/// and takes group and other permissions off the database and its companion files.
pub(crate) fn prepare(path: &Path) -> Result<(), SqliteError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|source| SqliteError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
        Err(source) => return Err(file_error(path, source)),
    }
    tighten(path)?;
    for suffix in COMPANIONS {
        tighten(&companion(path, suffix))?;
    }
    Ok(())
}

/// The companion file SQLite keeps beside `path`, e.g. `chat.db-wal`.
pub(crate) fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Takes group and other permissions off `path` if it exists and has any.
fn tighten(path: &Path) -> Result<(), SqliteError> {
    let mode = match fs::metadata(path) {
        Ok(metadata) => metadata.permissions().mode() & 0o777,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(file_error(path, source)),
    };
    if mode & !FILE_MODE == 0 {
        return Ok(());
    }
    let tightened = mode & FILE_MODE;
    fs::set_permissions(path, Permissions::from_mode(tightened))
        .map_err(|source| file_error(path, source))?;
    tracing::warn!(
        path = %path.display(),
        from = format!("{mode:o}"),
        to = format!("{tightened:o}"),
        "database file was readable by others; tightened its permissions"
    );
    Ok(())
}

fn file_error(path: &Path, source: std::io::Error) -> SqliteError {
    SqliteError::File {
        path: path.to_owned(),
        source,
    }
}
