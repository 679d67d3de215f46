//! [`SqliteStore`]: opening a database, and the storage traits on top of the writer thread and
//! the read pool.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::Result;
use chat_core::files::FileRecord;
use chat_core::id::FileId;
use chat_core::id::{MessageId, RoomId, SessionId, UserId};
use chat_core::membership::{Change, Member, NewGroup, Role};
use chat_core::model::{
    Account, Appended, Changed, Credentials, Message, NewMessage, NewUser, Reacted, Revocations,
    Room, Timestamp, User,
};
use chat_core::search::SearchQuery;
use chat_core::store::{
    AdminStore, ConversationStore, FileStore, GroupStore, MessageStore, ReactionChange, RoomStore,
    Store, UserStore,
};
use rusqlite::Connection;

use crate::admin::{self, AdminWrite};
use crate::error::SqliteError;
use crate::file_records::{self, FileWrite};
use crate::read_marks::ReadMarks;
use crate::readers::Readers;
use crate::sessions::{self, SessionWrite};
use crate::write::{OwnedReaction, Write};
use crate::writer::{Command, Reply, Writer};
use crate::{conversation, external, files, queries, schema, search};

/// How many read-only connections (and blocking threads) reads may use at once.
const READERS: usize = 4;

/// The embedded durable store: one SQLite database file in WAL mode, written by one thread
/// with group commit and read through a small pool of read-only connections, and a search
/// index beside it (`<database>-search`) that a thread of its own keeps up to date.
///
/// Acknowledged writes survive a crash or `kill -9` of the process (`synchronous=NORMAL`);
/// a power loss may roll back the last commits unless [`Store::flush`] ran since.
///
/// Dropping the store stops its writer thread and waits for it to close the database, so drop
/// it where blocking briefly is acceptable (at shutdown, after `flush`).
pub struct SqliteStore {
    // Dropped first, so that the writer's connection closes last: the last connection to
    // close checkpoints the WAL and removes it, and the writer is the one that can write.
    readers: Arc<Readers>,
    writer: Writer,
    /// Senders' read positions the writer has not stored yet, which reads take into account.
    marks: Arc<ReadMarks>,
    /// The directory of a [`SqliteStore::open_temp`] store, removed after the database closed.
    #[cfg(feature = "testing")]
    temp_dir: Option<tempfile::TempDir>,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file, its directory and the schema if they
    /// do not exist and migrating an older schema, then starts the writer thread.
    ///
    /// Only the owner may read the files: a directory created here is 0700, the database,
    /// WAL and shared-memory files are 0600, and looser modes found on them are tightened.
    ///
    /// This blocks on file I/O; call it at startup, before serving.
    pub fn open(path: &Path) -> Result<SqliteStore, SqliteError> {
        files::prepare(path)?;
        let mut conn = Connection::open(path)?;
        schema::configure_writer(&conn)?;
        schema::migrate(&mut conn)?;
        let marks = Arc::new(ReadMarks::default());
        Ok(SqliteStore {
            readers: Readers::new(path, READERS),
            writer: Writer::spawn(conn, path, Arc::clone(&marks))?,
            marks,
            #[cfg(feature = "testing")]
            temp_dir: None,
        })
    }

    /// Opens a fresh database in a new temporary directory, which is removed when the store is
    /// dropped: a store of its own for each test, with nothing to clean up.
    #[cfg(feature = "testing")]
    pub fn open_temp() -> Result<SqliteStore, SqliteError> {
        let dir = tempfile::Builder::new()
            .prefix("chat-sqlite-")
            .tempdir()
            .map_err(|source| SqliteError::CreateDir {
                path: std::env::temp_dir(),
                source,
            })?;
        let mut store = SqliteStore::open(&dir.path().join("chat.db"))?;
        store.temp_dir = Some(dir);
        Ok(store)
    }

    /// Like [`SqliteStore::open`], but only opens a database that was initialized before: a
    /// missing, zero-length or never-migrated file fails with [`SqliteError::Uninitialized`]
    /// and is left untouched, so a server whose data was truncated or deleted does not
    /// silently start over with an empty store.
    pub fn open_existing(path: &Path) -> Result<SqliteStore, SqliteError> {
        if !schema::is_initialized(path)? {
            return Err(SqliteError::Uninitialized {
                path: path.to_owned(),
            });
        }
        SqliteStore::open(path)
    }

    /// Runs a query on the read pool.
    async fn read<T, F>(&self, query: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        Ok(self.readers.run(query).await?)
    }

    /// Sets how long the writer, once CPU is short, waits for more writes before committing a
    /// small group (default [`crate::DEFAULT_COMMIT_PAUSE`]): longer pauses make fuller
    /// commits and cost each message less CPU, for that much more latency; zero commits at
    /// once always.
    pub fn set_commit_pause(&self, pause: Duration) {
        self.writer.set_pause(pause);
    }

    /// Queues a write for the writer thread and waits until its group has committed.
    async fn write<T>(&self, write: impl FnOnce(Reply<T>) -> Write) -> Result<T> {
        Ok(self
            .writer
            .call(|reply| Command::Write(write(reply)))
            .await?)
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.write(|reply| Write::CreateUser(user, reply)).await
    }

    async fn create_users(&self, users: Vec<NewUser>) -> Result<Vec<User>> {
        self.write(|reply| Write::CreateUsers(users, reply)).await
    }

    async fn upsert_external_user(&self, external_id: &str, user: NewUser) -> Result<User> {
        let external_id = external_id.to_owned();
        self.write(|reply| Write::ExternalUser(external_id, user, reply))
            .await
    }

    async fn external_user(&self, external_id: &str) -> Result<Option<User>> {
        let external_id = external_id.to_owned();
        self.read(move |conn| external::user(conn, &external_id))
            .await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.read(move |conn| queries::user(conn, id)).await
    }

    async fn users(&self, ids: &[UserId]) -> Result<Vec<User>> {
        let ids = ids.to_vec();
        self.read(move |conn| queries::users(conn, &ids)).await
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>> {
        let email = email.to_owned();
        self.read(move |conn| queries::credentials(conn, &email))
            .await
    }

    async fn search_users(
        &self,
        query: Option<&str>,
        exclude: UserId,
        limit: usize,
    ) -> Result<Vec<User>> {
        let query = query.map(str::to_owned);
        self.read(move |conn| queries::search_users(conn, query.as_deref(), exclude, limit))
            .await
    }

    async fn revocations(&self, user: UserId) -> Result<Revocations> {
        self.read(move |conn| sessions::revocations(conn, user))
            .await
    }

    async fn revoke_session(
        &self,
        user: UserId,
        session: SessionId,
        expires_at: Timestamp,
    ) -> Result<()> {
        let write = SessionWrite::Revoke(user, session, expires_at);
        self.write(|reply| Write::Sessions(write, reply))
            .await
            .map(drop)
    }

    async fn advance_generation(&self, user: UserId, password_hash: Option<String>) -> Result<u64> {
        let write = SessionWrite::Advance(user, password_hash);
        self.write(|reply| Write::Sessions(write, reply)).await
    }
}

#[async_trait]
impl RoomStore for SqliteStore {
    async fn direct_room(&self, a: UserId, b: UserId, now: Timestamp) -> Result<Room> {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        if let Some(room) = self
            .read(move |conn| queries::direct_room(conn, a, b))
            .await?
        {
            return Ok(room);
        }
        self.write(|reply| Write::DirectRoom((a, b), now, reply))
            .await
    }

    async fn room(&self, id: RoomId) -> Result<Option<Room>> {
        self.read(move |conn| queries::room(conn, id)).await
    }

    async fn rooms_of(&self, user: UserId, limit: usize) -> Result<Vec<Room>> {
        self.read(move |conn| queries::rooms_of(conn, user, limit))
            .await
    }

    async fn room_ids_of(&self, user: UserId) -> Result<Vec<RoomId>> {
        self.read(move |conn| queries::room_ids_of(conn, user))
            .await
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn append(&self, message: NewMessage) -> Result<Appended> {
        self.write(|reply| Write::Append(message, reply)).await
    }

    async fn page(&self, room: RoomId, before: Option<u64>, limit: usize) -> Result<Vec<Message>> {
        self.read(move |conn| queries::page(conn, room, before, limit))
            .await
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        self.read(move |conn| queries::message_with_reactions(conn, id))
            .await
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<Message>> {
        let query = query.clone();
        self.writer.call(Command::IndexSearch).await?;
        self.read(move |conn| search::search(conn, &query)).await
    }
}

#[async_trait]
impl GroupStore for SqliteStore {
    async fn create_group(&self, group: NewGroup) -> Result<(Room, Message)> {
        self.write(|reply| Write::CreateGroup(group, reply)).await
    }

    async fn member(&self, room: RoomId, user: UserId) -> Result<Option<Member>> {
        self.read(move |conn| queries::member(conn, room, user))
            .await
    }

    async fn members(
        &self,
        room: RoomId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>> {
        self.read(move |conn| queries::members(conn, room, after, limit))
            .await
    }

    async fn member_count(&self, room: RoomId) -> Result<usize> {
        self.read(move |conn| queries::member_count(conn, room))
            .await
    }

    async fn add_members(
        &self,
        change: &Change,
        users: &[UserId],
        max_members: usize,
    ) -> Result<Vec<Message>> {
        let (change, users) = (change.clone(), users.to_vec());
        self.write(|reply| Write::AddMembers(change, users, max_members, reply))
            .await
    }

    async fn remove_member(&self, change: &Change, user: UserId) -> Result<Vec<Message>> {
        let change = change.clone();
        self.write(|reply| Write::RemoveMember(change, user, reply))
            .await
    }

    async fn set_role(&self, change: &Change, user: UserId, role: Role) -> Result<Option<Message>> {
        let change = change.clone();
        self.write(|reply| Write::SetRole(change, user, role, reply))
            .await
    }

    async fn rename(&self, change: &Change, name: &str) -> Result<Message> {
        let (change, name) = (change.clone(), name.to_owned());
        self.write(|reply| Write::Rename(change, name, reply)).await
    }
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<u64> {
        self.write(|reply| Write::MarkRead(room, user, seq, reply))
            .await
    }

    async fn read_positions(&self, keys: &[(RoomId, UserId)]) -> Result<Vec<u64>> {
        let pending = self.marks.pending(keys);
        let keys = keys.to_vec();
        let stored = self
            .read(move |conn| conversation::read_positions(conn, &keys))
            .await?;
        Ok(stored
            .into_iter()
            .zip(pending)
            .map(|(stored, pending)| stored.max(pending))
            .collect())
    }

    async fn page_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        self.read(move |conn| conversation::page_after(conn, room, after, limit))
            .await
    }

    async fn edit_message(
        &self,
        room: RoomId,
        id: MessageId,
        text: &str,
        at: Timestamp,
    ) -> Result<Message> {
        let text = text.to_owned();
        self.write(|reply| Write::Edit(room, id, text, at, reply))
            .await
    }

    async fn delete_message(&self, room: RoomId, id: MessageId, at: Timestamp) -> Result<Message> {
        self.write(|reply| Write::Delete(room, id, at, reply)).await
    }

    async fn react(&self, change: ReactionChange<'_>, max_distinct: usize) -> Result<Reacted> {
        let change = OwnedReaction::new(&change);
        self.write(|reply| Write::React(change, max_distinct, reply))
            .await
    }

    async fn changed(&self, room: RoomId, since: Timestamp, limit: usize) -> Result<Vec<Changed>> {
        self.read(move |conn| conversation::changed(conn, room, since, limit))
            .await
    }
}

#[async_trait]
impl FileStore for SqliteStore {
    async fn create_file(&self, file: FileRecord) -> Result<()> {
        self.write(|reply| Write::Files(FileWrite::Create(file), reply))
            .await
            .map(drop)
    }

    async fn file(&self, id: FileId) -> Result<Option<FileRecord>> {
        self.read(move |conn| file_records::file(conn, id)).await
    }

    async fn attach_files(
        &self,
        ids: &[FileId],
        message: MessageId,
        uploader: UserId,
        room: RoomId,
    ) -> Result<Vec<FileRecord>> {
        let write = FileWrite::Attach(ids.to_vec(), message, uploader, room);
        self.write(|reply| Write::Files(write, reply)).await
    }

    async fn detach_files(&self, message: MessageId) -> Result<()> {
        self.write(|reply| Write::Files(FileWrite::Detach(message), reply))
            .await
            .map(drop)
    }

    async fn unattached_files(&self, before: Timestamp, limit: usize) -> Result<Vec<FileRecord>> {
        self.read(move |conn| file_records::unattached(conn, before, limit))
            .await
    }

    async fn collect_file(&self, id: FileId) -> Result<bool> {
        let collected = self
            .write(|reply| Write::Files(FileWrite::Collect(id), reply))
            .await?;
        Ok(!collected.is_empty())
    }

    async fn delete_message_files(&self, message: MessageId) -> Result<Vec<FileRecord>> {
        self.write(|reply| Write::Files(FileWrite::DeleteOfMessage(message), reply))
            .await
    }

    async fn uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>> {
        self.read(move |conn| file_records::of_uploader(conn, uploader))
            .await
    }

    async fn delete_uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>> {
        self.write(|reply| Write::Files(FileWrite::DeleteOfUploader(uploader), reply))
            .await
    }
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn accounts(&self, after: Option<UserId>, limit: usize) -> Result<Vec<Account>> {
        self.read(move |conn| admin::accounts(conn, after, limit))
            .await
    }

    async fn account(&self, id: UserId) -> Result<Option<Account>> {
        self.read(move |conn| admin::account(conn, id)).await
    }

    async fn set_disabled(&self, user: UserId, disabled: bool) -> Result<()> {
        let write = AdminWrite::SetDisabled(user, disabled);
        self.write(|reply| Write::Admin(write, reply)).await
    }

    async fn erase_user(&self, user: UserId, purge: bool) -> Result<()> {
        let write = AdminWrite::Erase(user, purge);
        self.write(|reply| Write::Admin(write, reply)).await
    }

    async fn all_rooms(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<Room>> {
        self.read(move |conn| admin::all_rooms(conn, after, limit))
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    /// Fails when the writer thread has stopped or a read-only connection cannot query.
    async fn ping(&self) -> Result<()> {
        if !self.writer.is_running() {
            return Err(SqliteError::WriterGone.into());
        }
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }

    /// Waits until every write queued before it has committed, then checkpoints the WAL into
    /// the database file (fsynced), so nothing acknowledged depends on the WAL any more.
    async fn flush(&self) -> Result<()> {
        Ok(self.writer.call(Command::Flush).await?)
    }

    /// Upserts the one row of the `health` table through the writer thread, in the next
    /// group commit like any write.
    async fn probe_write(&self) -> Result<()> {
        let now = chat_core::model::now();
        self.write(|reply| Write::Probe(now, reply)).await
    }
}
