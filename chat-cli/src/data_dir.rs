//! The data dir holds the embedded database (password hashes, every message) and the token
//! secret, so only its owner may enter it: created 0700, and tightened at start when found
//! open to others.

use std::fs::{self, DirBuilder, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;

/// Mode of the data dir.
const MODE: u32 = 0o700;

/// Creates the data dir (and missing parents) with mode 0700 if it does not exist.
pub fn create(dir: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(MODE)
        .create(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))
}

/// Takes group and other permissions off the data dir if it exists and has any.
pub fn tighten(dir: &Path) -> anyhow::Result<()> {
    let mode = match fs::metadata(dir) {
        Ok(metadata) => metadata.permissions().mode() & 0o777,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot inspect data dir {}", dir.display()));
        }
    };
    if mode & !MODE == 0 {
        return Ok(());
    }
    let tightened = mode & MODE;
    fs::set_permissions(dir, Permissions::from_mode(tightened))
        .with_context(|| format!("cannot restrict data dir {} to its owner", dir.display()))?;
    tracing::warn!(
        dir = %dir.display(),
        from = format!("{mode:o}"),
        to = format!("{tightened:o}"),
        "the data dir was open to other users; restricted it to its owner"
    );
    Ok(())
}
