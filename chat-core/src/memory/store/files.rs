//! The memory store's file records: every change under the one state lock, so attaching and
//! collecting are trivially exclusive.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::{Error, Result};
use crate::files::{FileRecord, check_attachable};
use crate::id::{FileId, MessageId, RoomId, UserId};
use crate::model::Timestamp;
use crate::store::FileStore;

#[async_trait]
impl FileStore for MemoryStore {
    async fn create_file(&self, file: FileRecord) -> Result<()> {
        let mut state = self.state();
        if state.files.contains_key(&file.id) {
            return Err(Error::Conflict("file id taken".into()));
        }
        state.files.insert(file.id, file);
        Ok(())
    }

    async fn file(&self, id: FileId) -> Result<Option<FileRecord>> {
        Ok(self.state().files.get(&id).cloned())
    }

    async fn attach_files(
        &self,
        ids: &[FileId],
        message: MessageId,
        uploader: UserId,
        room: RoomId,
    ) -> Result<Vec<FileRecord>> {
        let mut state = self.state();
        for (index, id) in ids.iter().enumerate() {
            if ids[..index].contains(id) {
                return Err(Error::Conflict("file listed twice".into()));
            }
            check_attachable(state.files.get(id), uploader, room)?;
        }
        let mut attached = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(file) = state.files.get_mut(id) {
                file.message_id = Some(message);
                attached.push(file.clone());
            }
        }
        Ok(attached)
    }

    async fn detach_files(&self, message: MessageId) -> Result<()> {
        for file in self.state().files.values_mut() {
            if file.message_id == Some(message) {
                file.message_id = None;
            }
        }
        Ok(())
    }

    async fn unattached_files(&self, before: Timestamp, limit: usize) -> Result<Vec<FileRecord>> {
        let mut stale: Vec<FileRecord> = self
            .state()
            .files
            .values()
            .filter(|file| file.message_id.is_none() && file.created_at < before)
            .cloned()
            .collect();
        stale.sort_by_key(|file| (file.created_at, file.id));
        stale.truncate(limit);
        Ok(stale)
    }

    async fn collect_file(&self, id: FileId) -> Result<bool> {
        let mut state = self.state();
        match state.files.get(&id) {
            Some(file) if file.message_id.is_none() => {
                state.files.remove(&id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_message_files(&self, message: MessageId) -> Result<Vec<FileRecord>> {
        Ok(self.remove_files(|file| file.message_id == Some(message)))
    }

    async fn uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>> {
        Ok(self
            .state()
            .files
            .values()
            .filter(|file| file.uploader_id == uploader)
            .cloned()
            .collect())
    }

    async fn delete_uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>> {
        Ok(self.remove_files(|file| file.uploader_id == uploader))
    }
}

impl MemoryStore {
    /// Removes the file records `matching` picks and returns them.
    fn remove_files(&self, matching: impl Fn(&FileRecord) -> bool) -> Vec<FileRecord> {
        let mut state = self.state();
        let (removed, kept) = std::mem::take(&mut state.files)
            .into_iter()
            .partition(|(_, file)| matching(file));
        state.files = kept;
        removed.into_values().collect()
    }
}
