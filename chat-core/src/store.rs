//! The storage boundary: narrow traits for users, rooms and messages, with their guarantees.
//!
//! Every implementation (memory, SQLite, MongoDB) runs the same conformance suite
//! (`chat_core::testing`, behind the `testing` feature), which checks each promise below.

use async_trait::async_trait;

use crate::error::Result;
use crate::files::FileRecord;
use crate::id::{FileId, MessageId, RoomId, SessionId, UserId};
use crate::membership::{Change, Member, NewGroup, Role};
use crate::model::{
    Account, Appended, Changed, Credentials, Message, NewMessage, NewUser, Reacted, Revocations,
    Room, Timestamp, User,
};
use crate::search::SearchQuery;

/// How many of a room's newest entries a resend's original may be among and still be
/// recognized by every store ([`MessageStore::append`]). Clients resend after a timeout or a
/// reconnect, within seconds or minutes; a bounded window lets the embedded store keep the
/// keys it checks in memory instead of in an index that grows with the whole history.
pub const RESEND_WINDOW_ENTRIES: u64 = 1024;

/// How old a resend's original may be and still be recognized by every store, within
/// [`RESEND_WINDOW_ENTRIES`].
pub const RESEND_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

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

    /// The user the host knows as `external_id` ([`crate::users`]): created from `user` on
    /// the first call for that external id, renamed to `user.name` on later ones (its id,
    /// email and time then stay). External ids are unique: concurrent calls with one
    /// external id, from any number of processes, yield one user. Returns the user as stored.
    async fn upsert_external_user(&self, external_id: &str, user: NewUser) -> Result<User>;

    /// The user mapped to `external_id`, if any.
    async fn external_user(&self, external_id: &str) -> Result<Option<User>>;

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

    /// The room with this id, with its last message (for a group, also its current name).
    async fn room(&self, id: RoomId) -> Result<Option<Room>>;

    /// The rooms `user` is a member of, direct and group alike, most recent activity first,
    /// at most `limit`. A group appears from the moment the user joins until it leaves or is
    /// removed.
    async fn rooms_of(&self, user: UserId, limit: usize) -> Result<Vec<Room>>;

    /// The ids of every room `user` is a member of now, direct and group, in any order: the
    /// same rooms as [`RoomStore::rooms_of`] without a limit, and without reading any room's
    /// last message (what message search needs to know which histories it may read).
    async fn room_ids_of(&self, user: UserId) -> Result<Vec<RoomId>>;
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
    ///   Every store recognizes a resend whose original is among its room's newest
    ///   [`RESEND_WINDOW_ENTRIES`] entries and was stored less than [`RESEND_WINDOW`] ago;
    ///   some recognize older ones too.
    /// - The room's `last_activity` and `last_message` follow the newest message.
    /// - The sender's read position in the room moves up to the new message (as by
    ///   [`ConversationStore::mark_read`]); so does the actor's for every timeline entry a
    ///   [`GroupStore`] change records.
    /// - A message whose room does not exist fails with `Error::NotFound`.
    async fn append(&self, message: NewMessage) -> Result<Appended>;

    /// The newest messages of a room with `seq < before` (all when `None`), newest first,
    /// at most `limit`. Walking pages by the last `seq` visits every message exactly once.
    async fn page(&self, room: RoomId, before: Option<u64>, limit: usize) -> Result<Vec<Message>>;

    /// One message by id, e.g. to turn a client's paging cursor into a `seq`.
    async fn message(&self, id: MessageId) -> Result<Option<Message>>;

    /// The chat messages of `query.rooms` that match `query.terms` (each word present as a
    /// word, ignoring case; backends may match more loosely, see [`crate::search`]), newest
    /// first, at most `query.limit`. Membership entries and deleted messages (tombstones)
    /// never match; an edited message matches its new text only. With `query.before`,
    /// only messages older than that one: walking pages by the last hit visits every match
    /// once; an unknown `before` gives no hits.
    ///
    /// "Newest" is the store's order of acceptance: timestamp then id (memory, MongoDB), or
    /// the order of insertion (SQLite), which differs only between sends that race.
    /// The index follows every write: a message matches as soon as `append` returns, and a
    /// store that edits or deletes messages re-indexes or forgets them in the same write.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<Message>>;
}

// ---- Group rooms -------------------------------------------------------------------------

/// Group rooms: members, roles and the membership changes recorded in their timelines.
///
/// Every change that returns timeline entries stores each of them as a [`Message`] with its
/// `event` set and the room's next `seq`, in the same seq line as the room's messages, and
/// moves the room's `last_activity`/`last_message` like an append. The engine checks who may
/// make a change (roles) and validates names; the store keeps the data consistent, also when
/// several processes change one room at once.
///
/// Rooms that do not exist fail with `Error::NotFound`, direct rooms with `Error::Invalid`.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Creates a group whose owner is the creator and whose other members (duplicates and the
    /// creator ignored) have the role `member`, all joined at `created_at`. Its timeline starts
    /// with one `Created` entry (seq 1), which is returned with the room. More members than
    /// `max_members` in all fail with `Error::Conflict` and store nothing; so does a taken id.
    async fn create_group(&self, group: NewGroup) -> Result<(Room, Message)>;

    /// The membership of `user` in `room`, `None` when it is not (or no longer) a member.
    async fn member(&self, room: RoomId, user: UserId) -> Result<Option<Member>>;

    /// The members of `room` ordered by user id, starting after `after` (from the first when
    /// `None`), at most `limit`. Walking pages by the last user id visits every member once.
    async fn members(
        &self,
        room: RoomId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>>;

    /// How many members `room` has.
    async fn member_count(&self, room: RoomId) -> Result<usize>;

    /// Adds `users` with the role `member`, joined at `change.at`, recording one `Added` entry
    /// each, in the order given. Users who already are members are skipped (no entry), so
    /// adding one user from several processes at once makes exactly one membership and one
    /// entry. When the members would then exceed `max_members`, fails with `Error::Conflict`
    /// and adds nobody; racing adds may both be refused near the limit, but the room never
    /// ends up with more than `max_members`.
    async fn add_members(
        &self,
        change: &Change,
        users: &[UserId],
        max_members: usize,
    ) -> Result<Vec<Message>>;

    /// Ends the membership of `user`, recording `Left` when `user` is the actor and `Removed`
    /// otherwise. When that removes the last owner and members remain, the heir
    /// ([`crate::membership::heir`]: the longest-standing admin, else member) becomes owner,
    /// recorded as a `RoleChanged` entry whose sender is the heir, once even when owners leave
    /// at the same time. Returns the entries in seq order. A user who is not a member fails
    /// with `Error::NotFound`. The last member leaving leaves an empty room.
    async fn remove_member(&self, change: &Change, user: UserId) -> Result<Vec<Message>>;

    /// Gives `user` the role `role`, recording a `RoleChanged` entry; `None` (and no entry)
    /// when it already has that role. Not a member: `Error::NotFound`.
    async fn set_role(&self, change: &Change, user: UserId, role: Role) -> Result<Option<Message>>;

    /// Renames the group, recording a `Renamed` entry. Of concurrent renames every one is
    /// recorded and the one with the highest seq names the room.
    async fn rename(&self, change: &Change, name: &str) -> Result<Message>;
}

// ---- Conversation state ------------------------------------------------------------------

/// What happens to messages after they are sent, and how far each member has read.
///
/// Messages keep their `seq` through every change. Each change (edit, deletion, reaction)
/// stamps the message with the time it happened, which [`ConversationStore::changed`] pages
/// by, so a client that was away fetches what changed instead of whole histories.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Moves `user`'s read position in `room` up to `seq` and returns the position after
    /// the call. It never moves back: a lower `seq` changes nothing, also when several
    /// processes move one position at once (the highest wins). The caller checks membership
    /// and clamps `seq` to the room's newest.
    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<u64>;

    /// The read positions of the `(room, user)` pairs, in the order given; 0 for a pair that
    /// never read. One lookup per pair, never a walk of a history.
    async fn read_positions(&self, keys: &[(RoomId, UserId)]) -> Result<Vec<u64>>;

    /// Messages of `room` with `seq > after`, oldest first, at most `limit`: forward paging
    /// for a client catching up. Walking pages by the last `seq` visits every entry once.
    async fn page_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<Message>>;

    /// Replaces the text of the message `id` of `room` and sets `edited_at` to `at`; `seq`,
    /// sender and time stay. `NotFound` when the room holds no such message, `Conflict` when
    /// it was deleted. An edit racing a deletion never brings the text back.
    async fn edit_message(
        &self,
        room: RoomId,
        id: MessageId,
        text: &str,
        at: Timestamp,
    ) -> Result<Message>;

    /// Turns the message `id` of `room` into a tombstone: the text and reactions are removed
    /// from the store for good (not hidden), `deleted` is set, and `seq`, sender and time
    /// remain. Idempotent: deleting a tombstone returns it unchanged. `NotFound` when the
    /// room holds no such message.
    async fn delete_message(&self, room: RoomId, id: MessageId, at: Timestamp) -> Result<Message>;

    /// Adds (`add`) or removes `user`'s reaction `emoji` on the message `id` of `room`. Each
    /// user reacts with an emoji once: adding twice or removing what is not there changes
    /// nothing (`changed == false`), also when racing. Adding a new distinct emoji to a
    /// message that already has `max_distinct` fails with `Error::Conflict`. `NotFound` when
    /// the room holds no such message, `Conflict` when it was deleted.
    async fn react(&self, reaction: ReactionChange<'_>, max_distinct: usize) -> Result<Reacted>;

    /// The messages of `room` changed (edited, deleted, reacted to) at or after `since`, by
    /// the time of their newest change, each once, at most `limit`.
    async fn changed(&self, room: RoomId, since: Timestamp, limit: usize) -> Result<Vec<Changed>>;
}

/// One reaction being added or removed.
#[derive(Debug, Clone, Copy)]
pub struct ReactionChange<'a> {
    /// The message's room.
    pub room: RoomId,
    /// The message.
    pub message: MessageId,
    /// Who reacts.
    pub user: UserId,
    /// The emoji, already validated.
    pub emoji: &'a str,
    /// Add (true) or remove (false).
    pub add: bool,
    /// When.
    pub at: Timestamp,
}

// ---- Attachments -------------------------------------------------------------------------

/// The records of uploaded files (their bytes live in a [`crate::blob::BlobStore`]).
///
/// A file is attached to at most one message, ever: of concurrent attaches of one file, and
/// of an attach racing its collection, exactly one wins, also across processes.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Records a newly uploaded, unattached file. A taken id fails with `Error::Conflict`.
    async fn create_file(&self, file: FileRecord) -> Result<()>;

    /// The file with this id, if any.
    async fn file(&self, id: FileId) -> Result<Option<FileRecord>>;

    /// Attaches the files `ids` to `message`, all or none, and returns their records (with
    /// `message_id` set) in the order of `ids`. Each must exist (`Error::NotFound`), have been
    /// uploaded by `uploader` to `room` (`Error::Forbidden`) and be unattached
    /// (`Error::Conflict`); on any failure no file is left attached to `message`.
    async fn attach_files(
        &self,
        ids: &[FileId],
        message: MessageId,
        uploader: UserId,
        room: RoomId,
    ) -> Result<Vec<FileRecord>>;

    /// Undoes [`FileStore::attach_files`] for a message that ended up not stored: its files
    /// become unattached again. Idempotent.
    async fn detach_files(&self, message: MessageId) -> Result<()>;

    /// Unattached files uploaded before `before`, oldest first, at most `limit`: what the
    /// collector removes.
    async fn unattached_files(&self, before: Timestamp, limit: usize) -> Result<Vec<FileRecord>>;

    /// Deletes the record of `id` if it is still unattached: true when this call deleted it,
    /// false when it is attached (it then stays) or gone.
    async fn collect_file(&self, id: FileId) -> Result<bool>;

    /// Deletes the records of every file attached to `message` and returns them, so their
    /// blobs can be removed. Idempotent.
    async fn delete_message_files(&self, message: MessageId) -> Result<Vec<FileRecord>>;

    /// Every file `uploader` uploaded, attached or not: a purge deletes their bytes before
    /// their records, so a purge that fails halfway still finds what is left on its rerun.
    async fn uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>>;

    /// Deletes the records of every file `uploader` uploaded, attached or not, and returns
    /// them, so their blobs can be removed: an operator's purge of the account. Idempotent.
    async fn delete_uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>>;
}

// ---- Operators ---------------------------------------------------------------------------

/// What operators' tools (`chat user …`, `chat room …`) need beyond what the server does:
/// every account and room, account status, and erasing an account.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Accounts (deleted ones included) ordered by id, starting after `after` (from the first
    /// when `None`), at most `limit`. Walking pages by the last id visits every account once.
    async fn accounts(&self, after: Option<UserId>, limit: usize) -> Result<Vec<Account>>;

    /// One account, whatever its status.
    async fn account(&self, id: UserId) -> Result<Option<Account>>;

    /// Sets an account active or disabled; a disabled one cannot log in (its
    /// [`Credentials::status`] says so). Idempotent. `Error::NotFound` for an unknown user;
    /// a deleted account stays deleted (`Error::Invalid`).
    async fn set_disabled(&self, user: UserId, disabled: bool) -> Result<()>;

    /// Erases an account's personal data for good: its email becomes
    /// [`crate::model::deleted_email`], its name [`crate::model::DELETED_USER_NAME`], its
    /// password hash one nothing verifies against, its status `Deleted`; every timeline entry
    /// it sent shows the deleted name; a host-owned account loses its external id, so the
    /// host's next upsert of that id makes a new account. With `purge`, its chat messages also
    /// lose their text, `client_id` and what they show of their attachments; their ids, seqs
    /// and times stay, so every room's seq line stays
    /// gapless for the clients that resume by it. The id and token generation stay, so old
    /// tokens stay revoked. Memberships are not touched (the engine has the user leave its
    /// groups first). Idempotent; `Error::NotFound` for an unknown user.
    async fn erase_user(&self, user: UserId, purge: bool) -> Result<()>;

    /// Every room, direct and group, ordered by id, starting after `after`, at most `limit`,
    /// each as [`RoomStore::room`] gives it.
    async fn all_rooms(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<Room>>;
}

// ---- The whole backend ---------------------------------------------------------------------

/// A complete storage backend.
#[async_trait]
pub trait Store:
    UserStore + RoomStore + MessageStore + GroupStore + ConversationStore + FileStore + AdminStore
{
    /// Succeeds when the backend answers; readiness probes use it.
    async fn ping(&self) -> Result<()>;

    /// Waits until everything acknowledged so far is on disk, for a clean shutdown.
    async fn flush(&self) -> Result<()>;

    // Readiness: the write probe.

    /// Makes one small durable write through the same path as real writes (the writer
    /// thread, the database's write lock, the disk) and succeeds only once it is stored, so
    /// readiness fails when writes would (a full disk, a read-only data dir, a lost primary)
    /// even though reads still answer. It touches no user, room or message, and each call
    /// overwrites the last, so the store does not grow. Callers rate-limit it.
    async fn probe_write(&self) -> Result<()>;
}
