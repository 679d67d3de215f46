//! The token signing secret: given by the operator, or generated once and kept in the data
//! dir (mode 0600) so restarts keep sessions valid.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{Error, data_dir};

const SECRET_FILE: &str = "jwt-secret";

/// Where the generated secret of `data_dir` is kept; its presence means the data dir has
/// served before.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// The secret bytes: the flag's value, else the data dir's file, else a new random one.
pub fn load_or_create(flag: Option<&str>, data_dir: &Path) -> Result<Vec<u8>, Error> {
    if let Some(secret) = flag.filter(|secret| !secret.is_empty()) {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = path(data_dir);
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            owner_only(&path)?;
            return Ok(existing.as_bytes().to_vec());
        }
    }
    data_dir::create(data_dir)?;
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(secret.as_bytes()))
        .map_err(|source| Error::Secret {
            action: "create",
            path: path.clone(),
            source,
        })?;
    tracing::info!(path = %path.display(), "generated a new token secret and kept it in the data dir");
    Ok(secret.into_bytes())
}

/// Makes a kept secret readable by its owner only, as it was created.
fn owner_only(path: &Path) -> Result<(), Error> {
    let failed = |source| Error::Secret {
        action: "restrict to its owner",
        path: path.to_owned(),
        source,
    };
    let mode = fs::metadata(path).map_err(failed)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700)).map_err(failed)?;
        tracing::warn!(path = %path.display(), "the token secret was readable by others; restricted it to its owner");
    }
    Ok(())
}
