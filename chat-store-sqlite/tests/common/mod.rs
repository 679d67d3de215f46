//! What the integration tests share: a store on its own scratch database.

use std::sync::Arc;

use async_trait::async_trait;
use chat_core::Result;
use chat_core::id::{MessageId, RoomId, SessionId, UserId};
use chat_core::membership::{Change, Member, NewGroup, Role};
use chat_core::model::{
    Appended, Credentials, Message, NewMessage, NewUser, Revocations, Room, Timestamp, User,
};
use chat_core::store::{GroupStore, MessageStore, RoomStore, Store, UserStore};
use chat_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A store on a fresh database in a temporary directory, removed when the store is dropped.
pub fn scratch() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("chat.db")).expect("open the scratch store");
    Arc::new(Scratch { store, _dir: dir })
}

/// A [`SqliteStore`] that owns its directory. Fields drop in order: the store closes the
/// database before the directory is removed.
struct Scratch {
    store: SqliteStore,
    _dir: TempDir,
}

#[async_trait]
impl UserStore for Scratch {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.store.create_user(user).await
    }

    async fn create_users(&self, users: Vec<NewUser>) -> Result<Vec<User>> {
        self.store.create_users(users).await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.store.user(id).await
    }

    async fn users(&self, ids: &[UserId]) -> Result<Vec<User>> {
        self.store.users(ids).await
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>> {
        self.store.credentials(email).await
    }

    async fn search_users(
        &self,
        query: Option<&str>,
        exclude: UserId,
        limit: usize,
    ) -> Result<Vec<User>> {
        self.store.search_users(query, exclude, limit).await
    }

    async fn revocations(&self, user: UserId) -> Result<Revocations> {
        self.store.revocations(user).await
    }

    async fn revoke_session(
        &self,
        user: UserId,
        session: SessionId,
        expires_at: Timestamp,
    ) -> Result<()> {
        self.store.revoke_session(user, session, expires_at).await
    }

    async fn advance_generation(&self, user: UserId, password_hash: Option<String>) -> Result<u64> {
        self.store.advance_generation(user, password_hash).await
    }
}

#[async_trait]
impl RoomStore for Scratch {
    async fn direct_room(&self, a: UserId, b: UserId, now: Timestamp) -> Result<Room> {
        self.store.direct_room(a, b, now).await
    }

    async fn room(&self, id: RoomId) -> Result<Option<Room>> {
        self.store.room(id).await
    }

    async fn rooms_of(&self, user: UserId, limit: usize) -> Result<Vec<Room>> {
        self.store.rooms_of(user, limit).await
    }
}

#[async_trait]
impl MessageStore for Scratch {
    async fn append(&self, message: NewMessage) -> Result<Appended> {
        self.store.append(message).await
    }

    async fn page(&self, room: RoomId, before: Option<u64>, limit: usize) -> Result<Vec<Message>> {
        self.store.page(room, before, limit).await
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        self.store.message(id).await
    }
}

#[async_trait]
impl GroupStore for Scratch {
    async fn create_group(&self, group: NewGroup) -> Result<(Room, Message)> {
        self.store.create_group(group).await
    }

    async fn member(&self, room: RoomId, user: UserId) -> Result<Option<Member>> {
        self.store.member(room, user).await
    }

    async fn members(
        &self,
        room: RoomId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>> {
        self.store.members(room, after, limit).await
    }

    async fn member_count(&self, room: RoomId) -> Result<usize> {
        self.store.member_count(room).await
    }

    async fn add_members(
        &self,
        change: &Change,
        users: &[UserId],
        max_members: usize,
    ) -> Result<Vec<Message>> {
        self.store.add_members(change, users, max_members).await
    }

    async fn remove_member(&self, change: &Change, user: UserId) -> Result<Vec<Message>> {
        self.store.remove_member(change, user).await
    }

    async fn set_role(&self, change: &Change, user: UserId, role: Role) -> Result<Option<Message>> {
        self.store.set_role(change, user, role).await
    }

    async fn rename(&self, change: &Change, name: &str) -> Result<Message> {
        self.store.rename(change, name).await
    }
}

#[async_trait]
impl Store for Scratch {
    async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    async fn flush(&self) -> Result<()> {
        self.store.flush().await
    }

    async fn probe_write(&self) -> Result<()> {
        self.store.probe_write().await
    }
}
