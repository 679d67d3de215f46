//! Blobs as files in one directory: the embedded default, beside the SQLite database.
//!
//! The directory is 0700 and every blob 0600 (they are users' files). A blob is written to a
//! temporary name, synced, then renamed over its key, so a reader or a crash never sees half
//! of one; temporary files a crash left behind are removed when the store opens.

use std::io::{ErrorKind, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{Blob, BlobBody, BlobStore, check_key, clamp, next_chunk};
use crate::error::{Error, Result};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
/// Temporary files start with this, which no key may (keys never start with `.`).
const TEMP_PREFIX: &str = ".tmp-";

/// Blobs in a directory of the local disk.
#[derive(Debug, Clone)]
pub struct DirBlobStore {
    dir: PathBuf,
}

impl DirBlobStore {
    /// Opens (creating it 0700, or tightening it to 0700) the directory `dir`, and removes the
    /// temporary files an interrupted write left there. Blocks on file I/O: call at startup.
    pub fn open(dir: &Path) -> Result<DirBlobStore> {
        let failed = |err| Error::unavailable(format!("file directory {}", dir.display()), err);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(failed)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE)).map_err(failed)?;
        for entry in std::fs::read_dir(dir).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                std::fs::remove_file(entry.path()).map_err(failed)?;
            }
        }
        Ok(DirBlobStore {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }

    async fn write_temp(&self, temp: &Path, body: BlobBody<'_>) -> Result<u64> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(temp)
            .await
            .map_err(unavailable)?;
        let mut buf = Vec::with_capacity(super::CHUNK);
        let mut size = 0;
        while next_chunk(body, &mut buf).await? > 0 {
            file.write_all(&buf).await.map_err(unavailable)?;
            size += buf.len() as u64;
        }
        file.sync_all().await.map_err(unavailable)?;
        Ok(size)
    }
}

fn unavailable(err: std::io::Error) -> Error {
    Error::unavailable("file storage", err)
}

#[async_trait]
impl BlobStore for DirBlobStore {
    async fn put(&self, key: &str, body: BlobBody<'_>) -> Result<u64> {
        let path = self.path(key)?;
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}{key}-{:016x}", rand::random::<u64>()));
        let written = self.write_temp(&temp, body).await;
        let renamed = match written {
            Ok(size) => fs::rename(&temp, &path)
                .await
                .map(|()| size)
                .map_err(unavailable),
            Err(err) => Err(err),
        };
        if renamed.is_err() {
            let _ = fs::remove_file(&temp).await;
        }
        renamed
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Option<Blob>> {
        let path = self.path(key)?;
        let mut file = match File::open(&path).await {
            Ok(file) => file,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(unavailable(err)),
        };
        let size = file.metadata().await.map_err(unavailable)?.len();
        let range = clamp(range, size);
        if range.start > 0 {
            file.seek(SeekFrom::Start(range.start))
                .await
                .map_err(unavailable)?;
        }
        Ok(Some(Blob {
            size,
            body: Box::pin(file.take(range.end - range.start)),
        }))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn only_the_owner_reads_blobs_and_crash_leftovers_go() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("files");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join(".tmp-half-written"), b"x").unwrap();
        let store = DirBlobStore::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert!(!dir.join(".tmp-half-written").exists());
        store.put("abc", &mut &b"secret"[..]).await.unwrap();
        assert_eq!(mode(&dir.join("abc")), 0o600);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}
