//! The token signing secret: given by the operator, or generated once and kept in the data
//! dir (mode 0600) so restarts keep sessions valid.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::Error;

const SECRET_FILE: &str = "jwt-secret";

/// The secret bytes: the flag's value, else the data dir's file, else a new random one.
pub fn load_or_create(flag: Option<&str>, data_dir: &Path) -> Result<Vec<u8>, Error> {
    if let Some(secret) = flag.filter(|secret| !secret.is_empty()) {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join(SECRET_FILE);
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    fs::create_dir_all(data_dir).map_err(|source| Error::Secret {
        action: "create data dir",
        path: data_dir.to_owned(),
        source,
    })?;
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
