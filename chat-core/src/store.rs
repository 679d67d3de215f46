//! The storage boundary: narrow traits for users, rooms and messages, with their guarantees.
//!
//! Every implementation (memory, SQLite, MongoDB) runs the same conformance suite
//! (`chat_core::testing`, behind the `testing` feature), which checks each promise below.

use async_trait::async_trait;

use crate::error::Result;
use crate::id::{MessageId, RoomId, SessionId, UserId};
use crate::model::{
    Appended, Credentials, Message, NewMessage, NewUser, Revocations, Room, Timestamp, User,
};

/// Accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user. Emails are unique (the engine normalizes them first): a second user
    /// with the same email fails with `Error::Conflict`, even when both race.
    async fn create_user(&self, user: NewUser) -> Result<User>;

    /// Stores many users at once, for operators importing a population; same rules as
    /// [`UserStore::create_user`], all or nothing.
    async fn create_users(&self, users: Vec<NewUser>) -> Result<Vec<User>> {
        let mut created = Vec::with_capacity(users.len());
        for user in users {
            created.push(self.create_user(user).await?);
        }
        Ok(created)
    }

    /// The user with this id, if any.
    async fn user(&self, id: UserId) -> Result<Option<User>>;

    /// The users among `ids` that exist, in any order.
    async fn users(&self, ids: &[UserId]) -> Result<Vec<User>>;

    /// The account and its password hash for a normalized email, to check a login.
    async fn credentials(&self, email: &str) -> Result<Option<Credentials>>;

    /// Users other than `exclude` whose name or email contains `query` (case-insensitive;
    /// all users when `None`), ordered by name then id, at most `limit`. `query` is plain
    /// text, never a pattern or operator.
    async fn search_users(
        &self,
        query: Option<&str>,
        exclude: UserId,
        limit: usize,
    ) -> Result<Vec<User>>;

    // Sessions and revocation (accounts): what makes a signed token stop working early.

    /// The user's token generation (0 if never advanced) and the sessions revoked one by one
    /// whose `expires_at` has not passed, in any order. An unknown user has none of either.
    async fn revocations(&self, user: UserId) -> Result<Revocations>;

    /// Revokes one session until `expires_at` (its token's expiry; after that the store may
    /// forget it). Idempotent; durable before returning.
    async fn revoke_session(
        &self,
        user: UserId,
        session: SessionId,
        expires_at: Timestamp,
    ) -> Result<()>;

    /// Advances the user's token generation, revoking every token issued before, and when
    /// `password_hash` is given replaces the password in the same write. Returns the new
    /// generation, greater than the one when the call began. The stored generation never falls
    /// back to or below that starting one, so every token issued before the call stays
    /// revoked; but concurrent calls may return the same generation, and on a store without
    /// an atomic increment (FerretDB v1) one above what ends up stored, so whoever issues a
    /// token afterwards reads the generation back with [`UserStore::revocations`].
    /// `Error::NotFound` for an unknown user.
    async fn advance_generation(&self, user: UserId, password_hash: Option<String>) -> Result<u64>;
}

/// Rooms and membership.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// The direct room of `a` and `b`, created on first call. Exactly one room exists per
    /// unordered pair: concurrent calls, from any number of processes, return the same room.
    async fn direct_room(&self, a: UserId, b: UserId, now: Timestamp) -> Result<Room>;

    /// The room with this id, with its last message.
    async fn room(&self, id: RoomId) -> Result<Option<Room>>;

    /// The rooms `user` is a member of, most recent activity first, at most `limit`.
    async fn rooms_of(&self, user: UserId, limit: usize) -> Result<Vec<Room>>;
}

/// Message history.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Appends a message to its room and makes it durable before returning.
    ///
    /// - `seq` is assigned atomically: per room 1, 2, 3… without gaps or duplicates, even with
    ///   several processes appending to the same room.
    /// - Idempotent: when the room already holds a message from the same sender with the same
    ///   `client_id`, nothing is written and the original is returned with `created == false`.
    /// - The room's `last_activity` and `last_message` follow the newest message.
    /// - A message whose room does not exist fails with `Error::NotFound`.
    async fn append(&self, message: NewMessage) -> Result<Appended>;

    /// The newest messages of a room with `seq < before` (all when `None`), newest first,
    /// at most `limit`. Walking pages by the last `seq` visits every message exactly once.
    async fn page(&self, room: RoomId, before: Option<u64>, limit: usize) -> Result<Vec<Message>>;

    /// One message by id, e.g. to turn a client's paging cursor into a `seq`.
    async fn message(&self, id: MessageId) -> Result<Option<Message>>;
}

/// A complete storage backend.
#[async_trait]
pub trait Store: UserStore + RoomStore + MessageStore {
    /// Succeeds when the backend answers; readiness probes use it.
    async fn ping(&self) -> Result<()>;

    /// Waits until everything acknowledged so far is on disk, for a clean shutdown.
    async fn flush(&self) -> Result<()>;
}
