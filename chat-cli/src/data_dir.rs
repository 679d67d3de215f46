//! The data dir holds the embedded database (password hashes, every message) and the token
//! secret, so only its owner may enter it: created 0700, and tightened when found open to
//! others.

use std::fs::{self, DirBuilder, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::Error;

/// Mode of the data dir.
const MODE: u32 = 0o700;

/// Creates the data dir (and missing parents) with mode 0700 if it does not exist.
pub(crate) fn create(dir: &Path) -> Result<(), Error> {
    DirBuilder::new()
        .recursive(true)
        .mode(MODE)
        .create(dir)
        .map_err(|source| failed("create", dir, source))
}

/// Takes group and other permissions off the data dir if it exists and has any.
pub(crate) fn tighten(dir: &Path) -> Result<(), Error> {
    let mode = match fs::metadata(dir) {
        Ok(metadata) => metadata.permissions().mode() & 0o777,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(failed("inspect", dir, source)),
    };
    if mode & !MODE == 0 {
        return Ok(());
    }
    let tightened = mode & MODE;
    fs::set_permissions(dir, Permissions::from_mode(tightened))
        .map_err(|source| failed("restrict to its owner", dir, source))?;
    tracing::warn!(
        dir = %dir.display(),
        from = format!("{mode:o}"),
        to = format!("{tightened:o}"),
        "the data dir was open to other users; restricted it to its owner"
    );
    Ok(())
}

fn failed(action: &'static str, dir: &Path, source: std::io::Error) -> Error {
    Error::DataDir {
        action,
        path: dir.to_owned(),
        source,
    }
}
