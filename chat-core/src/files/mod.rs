//! Attachments: the record of an uploaded file, what a message carries of it, the keys its
//! bytes live under in the [`BlobStore`](crate::blob::BlobStore), and the media work on those
//! bytes ([`sniff`] for the content type and an image's size, [`thumb`] for thumbnails).
//!
//! A file is uploaded into a room, unattached; its uploader may then attach it to one message
//! in that room. A file never attached is collected after a while; a message's files go with
//! the message.

pub mod limited;
pub mod sniff;
pub mod thumb;

use serde::{Deserialize, Serialize};

use crate::id::{FileId, MessageId, RoomId, UserId};
use crate::model::Timestamp;

/// The most files one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;

/// An uploaded file as the stores keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Stable identity; also names its blobs.
    pub id: FileId,
    /// The room it was uploaded to; only that room's members may read it.
    pub room_id: RoomId,
    /// Who uploaded it; only they may attach it.
    pub uploader_id: UserId,
    /// The file name the uploader gave, cleaned of paths and control characters.
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Sniffed from its first bytes, never taken from the upload.
    pub content_type: String,
    /// An image's width in pixels, when the header told it.
    pub width: Option<u32>,
    /// An image's height in pixels.
    pub height: Option<u32>,
    /// Upload time; unattached files are collected by age.
    pub created_at: Timestamp,
    /// The message it is attached to; `None` until then.
    pub message_id: Option<MessageId>,
}

impl FileRecord {
    /// What a message carries of this file.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            file_id: self.id,
            name: self.name.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            width: self.width,
            height: self.height,
        }
    }

    /// Whether browsers may show it inline: a raster image format they decode themselves.
    pub fn is_inline_image(&self) -> bool {
        sniff::is_inline_image(&self.content_type)
    }
}

/// A file as a message lists it: enough to show a chip or an inline image without another
/// request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file, downloadable by the room's members.
    pub file_id: FileId,
    /// Its name.
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its sniffed content type.
    pub content_type: String,
    /// An image's width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// An image's height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// Whether `file` may be attached by `uploader` to a message in `room`: the one rule every
/// store applies, with the errors [`crate::store::FileStore::attach_files`] promises.
pub fn check_attachable(
    file: Option<&FileRecord>,
    uploader: UserId,
    room: RoomId,
) -> crate::Result<()> {
    use crate::Error;
    let file = file.ok_or_else(|| Error::NotFound("file not found".into()))?;
    if file.uploader_id != uploader || file.room_id != room {
        return Err(Error::Forbidden(
            "only files you uploaded to this room can be attached".into(),
        ));
    }
    if file.message_id.is_some() {
        return Err(Error::Conflict("file is already attached".into()));
    }
    Ok(())
}

/// The blob key of a file's bytes.
pub fn blob_key(id: FileId) -> String {
    id.to_string()
}

/// The blob key of an image's thumbnail, made on first request.
pub fn thumb_key(id: FileId) -> String {
    format!("{id}.thumb")
}
