//! The token signing secret: given by the operator, or generated once and kept in the data
//! dir (mode 0600) so restarts keep sessions valid.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

const SECRET_FILE: &str = "jwt-secret";

/// The secret bytes: the flag's value, else the data dir's file, else a new random one.
pub fn load_or_create(flag: Option<&str>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
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
    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new token secret and kept it in the data dir");
    Ok(secret.into_bytes())
}
