//! The records of uploaded files (the `files` table): the writes the writer thread runs for
//! them, and the reads.
//!
//! Every write runs in the writer's transaction, so checking that a file may be attached and
//! attaching it, or checking it is unattached and deleting it, are one atomic step: attaches
//! and collections never both win.

use chat_core::files::{FileRecord, check_attachable};
use chat_core::id::{FileId, MessageId, RoomId, UserId};
use chat_core::model::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqliteError;
use crate::rows::{self, file_columns};

/// A change to file records, queued for the writer thread; it answers the records it
/// affected.
pub(crate) enum FileWrite {
    /// Insert a new record; answers nothing.
    Create(FileRecord),
    /// Attach these files of this uploader in this room to a message, all or none.
    Attach(Vec<FileId>, MessageId, UserId, RoomId),
    /// Unattach a message's files; answers nothing.
    Detach(MessageId),
    /// Delete a file if unattached; answers it when deleted.
    Collect(FileId),
    /// Delete a message's files; answers them.
    DeleteOfMessage(MessageId),
    /// Delete every file of an uploader; answers them.
    DeleteOfUploader(UserId),
}

impl FileWrite {
    /// Runs the write on the writer's connection.
    pub(crate) fn run(self, conn: &Connection) -> Result<Vec<FileRecord>, SqliteError> {
        match self {
            FileWrite::Create(file) => {
                conn.prepare_cached(concat!(
                    "INSERT INTO files (",
                    file_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ))?
                .execute(params![
                    file.id.0.as_bytes(),
                    file.room_id.0.as_bytes(),
                    file.uploader_id.0.as_bytes(),
                    file.name,
                    file.size,
                    file.content_type,
                    file.width,
                    file.height,
                    rows::millis(file.created_at),
                    file.message_id.map(|id| *id.0.as_bytes()),
                ])?;
                Ok(Vec::new())
            }
            FileWrite::Attach(ids, message, uploader, room) => {
                let mut attached = Vec::with_capacity(ids.len());
                for id in ids {
                    let found = file(conn, id)?;
                    check_attachable(found.as_ref(), uploader, room)
                        .map_err(SqliteError::Refused)?;
                    conn.prepare_cached("UPDATE files SET message_id = ?2 WHERE id = ?1")?
                        .execute((id.0.as_bytes(), message.0.as_bytes()))?;
                    if let Some(mut file) = found {
                        file.message_id = Some(message);
                        attached.push(file);
                    }
                }
                Ok(attached)
            }
            FileWrite::Detach(message) => {
                conn.prepare_cached("UPDATE files SET message_id = NULL WHERE message_id = ?1")?
                    .execute([message.0.as_bytes()])?;
                Ok(Vec::new())
            }
            FileWrite::Collect(id) => Ok(files_by(
                conn,
                concat!(
                    "DELETE FROM files WHERE id = ?1 AND message_id IS NULL RETURNING ",
                    file_columns!()
                ),
                id.0.as_bytes(),
            )?),
            FileWrite::DeleteOfMessage(message) => Ok(files_by(
                conn,
                concat!(
                    "DELETE FROM files WHERE message_id = ?1 RETURNING ",
                    file_columns!()
                ),
                message.0.as_bytes(),
            )?),
            FileWrite::DeleteOfUploader(uploader) => Ok(files_by(
                conn,
                concat!(
                    "DELETE FROM files WHERE uploader_id = ?1 RETURNING ",
                    file_columns!()
                ),
                uploader.0.as_bytes(),
            )?),
        }
    }
}

/// The file with this id.
pub(crate) fn file(conn: &Connection, id: FileId) -> rusqlite::Result<Option<FileRecord>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files WHERE id = ?1"
    ))?
    .query_row([id.0.as_bytes()], rows::file)
    .optional()
}

/// Every file `uploader` uploaded, attached or not.
pub(crate) fn of_uploader(
    conn: &Connection,
    uploader: UserId,
) -> rusqlite::Result<Vec<FileRecord>> {
    files_by(
        conn,
        concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE uploader_id = ?1"
        ),
        uploader.0.as_bytes(),
    )
}

/// The file rows `sql` (a `SELECT`, or a `DELETE … RETURNING`, of `file_columns!`) yields
/// for the id `key` it takes as `?1`.
fn files_by(conn: &Connection, sql: &str, key: &[u8]) -> rusqlite::Result<Vec<FileRecord>> {
    conn.prepare_cached(sql)?
        .query_map([key], rows::file)?
        .collect()
}

/// Unattached files created before `before`, oldest first: a range of `files_unattached`.
pub(crate) fn unattached(
    conn: &Connection,
    before: Timestamp,
    limit: usize,
) -> rusqlite::Result<Vec<FileRecord>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files WHERE message_id IS NULL AND created_at < ?1
          ORDER BY created_at, id LIMIT ?2"
    ))?
    .query_map(
        params![
            rows::millis(before),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        rows::file,
    )?
    .collect()
}
