//! The writes the writer thread runs: what callers queue ([`Write`]), and how each runs in
//! its group's transaction so that a failure undoes only itself (in a savepoint, or alone as
//! one statement) and holds back its caller's answer until the group's commit is known. The
//! thread, its loop and the group commit itself are in `writer`.

use std::sync::Arc;

use chat_core::files::FileRecord;
use chat_core::id::{MessageId, RoomId, UserId};
use chat_core::membership::{Change, NewGroup, Role};
use chat_core::model::{Appended, Message, NewMessage, NewUser, Reacted, Room, Timestamp, User};
use chat_core::store::ReactionChange;
use rusqlite::Connection;

use crate::admin::AdminWrite;
use crate::error::SqliteError;
use crate::file_records::FileWrite;
use crate::read_marks::ReadMarks;
use crate::recent_keys::RecentKeys;
use crate::sessions::SessionWrite;
use crate::writer::Reply;
use crate::writes;
use crate::{conversation, external, groups, reactions};

/// A write, with the channel its caller waits on.
pub(crate) enum Write {
    /// Insert a user.
    CreateUser(NewUser, Reply<User>),
    /// Insert these users, all or none.
    CreateUsers(Vec<NewUser>, Reply<Vec<User>>),
    /// Create or rename the user of an external id.
    ExternalUser(String, NewUser, Reply<User>),
    /// Find or create the direct room of a pair (sorted), created at the given time if new.
    DirectRoom((UserId, UserId), Timestamp, Reply<Room>),
    /// Append a message, or find the original of a resend.
    Append(NewMessage, Reply<Appended>),
    /// Create a group with its members and its first timeline entry.
    CreateGroup(NewGroup, Reply<(Room, Message)>),
    /// Add members to a group, up to a limit.
    AddMembers(Change, Vec<UserId>, usize, Reply<Vec<Message>>),
    /// End a membership, handing ownership on if needed.
    RemoveMember(Change, UserId, Reply<Vec<Message>>),
    /// Change a member's role.
    SetRole(Change, UserId, Role, Reply<Option<Message>>),
    /// Rename a group.
    Rename(Change, String, Reply<Message>),
    /// Upsert the write probe's row, for readiness.
    Probe(Timestamp, Reply<()>),
    /// Revoke sessions; answers the new generation.
    Sessions(SessionWrite, Reply<u64>),
    /// Move a read position up; answers the position.
    MarkRead(RoomId, UserId, u64, Reply<u64>),
    /// Replace a message's text.
    Edit(RoomId, MessageId, String, Timestamp, Reply<Message>),
    /// Turn a message into a tombstone.
    Delete(RoomId, MessageId, Timestamp, Reply<Message>),
    /// Add or remove a reaction, with the most distinct emoji allowed.
    React(OwnedReaction, usize, Reply<Reacted>),
    /// Change file records; answers the records changed.
    Files(FileWrite, Reply<Vec<FileRecord>>),
    /// An operator's change to an account.
    Admin(AdminWrite, Reply<()>),
}

/// A [`ReactionChange`] that owns its emoji, to cross into the writer thread.
pub(crate) struct OwnedReaction {
    /// The change, minus the emoji.
    pub(crate) room: RoomId,
    pub(crate) message: MessageId,
    pub(crate) user: UserId,
    pub(crate) emoji: String,
    pub(crate) add: bool,
    pub(crate) at: Timestamp,
}

impl OwnedReaction {
    /// Owns what `change` borrows.
    pub(crate) fn new(change: &ReactionChange<'_>) -> Self {
        OwnedReaction {
            room: change.room,
            message: change.message,
            user: change.user,
            emoji: change.emoji.to_owned(),
            add: change.add,
            at: change.at,
        }
    }

    fn borrowed(&self) -> ReactionChange<'_> {
        ReactionChange {
            room: self.room,
            message: self.message,
            user: self.user,
            emoji: &self.emoji,
            add: self.add,
            at: self.at,
        }
    }
}

/// What a group's writes need of the read positions: the pending ones, to answer a reader's
/// own move, and the moves of the messages it appends, recorded once it commits.
pub(crate) struct GroupMarks<'a> {
    pub(crate) marks: &'a ReadMarks,
    pub(crate) moves: Vec<(RoomId, UserId, u64)>,
}

impl GroupMarks<'_> {
    /// The member's read position not stored yet: pending, or moved earlier in this group.
    fn pending(&self, room: RoomId, user: UserId) -> u64 {
        let recorded = self.marks.pending(&[(room, user)]);
        self.moves
            .iter()
            .filter(|&&(r, u, _)| (r, u) == (room, user))
            .map(|&(_, _, seq)| seq)
            .chain(recorded)
            .max()
            .unwrap_or(0)
    }
}

/// An answer held back until the group's commit is known: given the group's failure, if
/// any, it sends the caller its result.
pub(crate) type Answer = Box<dyn FnOnce(Option<&Arc<rusqlite::Error>>) + Send>;

/// Builds the held-back answer for one write. A write that succeeded inside a group that then
/// failed to commit gets the group's error; one that failed keeps its own.
fn answer<T: Send + 'static>(reply: Reply<T>, result: Result<T, SqliteError>) -> Answer {
    Box::new(move |group_failure| {
        let result = match (result, group_failure) {
            (Ok(_), Some(failure)) => Err(SqliteError::Shared(Arc::clone(failure))),
            (result, _) => result,
        };
        let _ = reply.send(result);
    })
}

impl Write {
    /// Whether the write adds or ends memberships, so that the pending read positions must
    /// be stored before it: a member who leaves and rejoins starts afresh.
    pub(crate) fn changes_memberships(&self) -> bool {
        matches!(
            self,
            Write::AddMembers(..) | Write::RemoveMember(..) | Write::Admin(..)
        )
    }

    /// The existing room this write adds timeline entries to other than by appending:
    /// membership changes, which the writer's record of the room's head does not follow.
    fn adds_entries_to(&self) -> Option<RoomId> {
        match self {
            Write::AddMembers(change, ..)
            | Write::RemoveMember(change, ..)
            | Write::SetRole(change, ..)
            | Write::Rename(change, ..) => Some(change.room),
            _ => None,
        }
    }

    /// Runs the write in its own savepoint of the group transaction (an append, one statement,
    /// needs none) and holds back its answer.
    /// Once `broken` is set it runs nothing and answers that error, which is also how the
    /// writes of a group whose transaction could not start are refused.
    pub(crate) fn apply(
        self,
        tx: &Connection,
        broken: &mut Option<Arc<rusqlite::Error>>,
        group: &mut GroupMarks<'_>,
        keys: &mut RecentKeys,
    ) -> Answer {
        if let Some(room) = self.adds_entries_to() {
            keys.distrust(room);
        }
        match self {
            Write::CreateUser(user, reply) => answer(
                reply,
                isolated(tx, broken, |conn| writes::insert_user(conn, user)),
            ),
            Write::CreateUsers(users, reply) => answer(
                reply,
                isolated(tx, broken, |conn| {
                    users
                        .into_iter()
                        .map(|user| writes::insert_user(conn, user))
                        .collect()
                }),
            ),
            Write::DirectRoom(pair, now, reply) => answer(
                reply,
                isolated(tx, broken, |conn| writes::direct_room(conn, pair, now)),
            ),
            Write::ExternalUser(external_id, user, reply) => answer(
                reply,
                isolated(tx, broken, |conn| {
                    external::upsert(conn, &external_id, user)
                }),
            ),
            Write::Append(message, reply) => {
                let appended =
                    one_statement(tx, broken, |conn| writes::append(conn, message, keys));
                if let Ok(Appended {
                    message,
                    created: true,
                }) = &appended
                {
                    group
                        .moves
                        .push((message.room_id, message.sender_id, message.seq));
                }
                answer(reply, appended)
            }
            Write::CreateGroup(group, reply) => answer(
                reply,
                isolated(tx, broken, |conn| groups::create(conn, group)),
            ),
            Write::AddMembers(change, users, max, reply) => answer(
                reply,
                isolated(tx, broken, |conn| groups::add(conn, &change, &users, max)),
            ),
            Write::RemoveMember(change, user, reply) => answer(
                reply,
                isolated(tx, broken, |conn| groups::remove(conn, &change, user)),
            ),
            Write::SetRole(change, user, role, reply) => answer(
                reply,
                isolated(tx, broken, |conn| {
                    groups::set_role(conn, &change, user, role)
                }),
            ),
            Write::Rename(change, name, reply) => answer(
                reply,
                isolated(tx, broken, |conn| groups::rename(conn, &change, &name)),
            ),
            Write::Probe(now, reply) => {
                answer(reply, isolated(tx, broken, |conn| writes::probe(conn, now)))
            }
            Write::Sessions(write, reply) => {
                answer(reply, isolated(tx, broken, |conn| write.run(conn)))
            }
            Write::MarkRead(room, user, seq, reply) => {
                let position = isolated(tx, broken, |conn| {
                    conversation::mark_read(conn, room, user, seq)
                });
                let pending = group.pending(room, user);
                answer(reply, position.map(|stored| stored.max(pending)))
            }
            Write::Edit(room, id, text, at, reply) => answer(
                reply,
                isolated(tx, broken, |conn| {
                    conversation::edit(conn, room, id, &text, at)
                }),
            ),
            Write::Delete(room, id, at, reply) => answer(
                reply,
                isolated(tx, broken, |conn| conversation::delete(conn, room, id, at)),
            ),
            Write::React(change, max, reply) => answer(
                reply,
                isolated(tx, broken, |conn| {
                    reactions::react(conn, &change.borrowed(), max)
                }),
            ),
            Write::Files(write, reply) => {
                answer(reply, isolated(tx, broken, |conn| write.run(conn)))
            }
            Write::Admin(write, reply) => {
                answer(reply, isolated(tx, broken, |conn| write.run(conn)))
            }
        }
    }
}

/// Runs one write inside a savepoint: released when `write` succeeds, rolled back when it
/// fails, so the rest of the group commits without any trace of it. If a savepoint statement
/// itself fails, the group can no longer be trusted: `broken` records why, the remaining
/// writes are skipped, and nothing is committed.
pub(crate) fn isolated<T>(
    conn: &Connection,
    broken: &mut Option<Arc<rusqlite::Error>>,
    write: impl FnOnce(&Connection) -> Result<T, SqliteError>,
) -> Result<T, SqliteError> {
    unless_broken(broken)?;
    if let Err(error) = run_cached(conn, "SAVEPOINT write") {
        let error = Arc::new(error);
        *broken = Some(Arc::clone(&error));
        return Err(SqliteError::Shared(error));
    }
    let result = write(conn);
    let end = match result {
        Ok(_) => run_cached(conn, "RELEASE write"),
        Err(_) => {
            run_cached(conn, "ROLLBACK TO write").and_then(|()| run_cached(conn, "RELEASE write"))
        }
    };
    if let Err(error) = end {
        *broken = Some(Arc::new(error));
    }
    result
}

/// Runs a write whose only change is one statement (an append: reads, then one `INSERT`,
/// tried again if it fails on a taken seq) without a savepoint: SQLite undoes a statement
/// that fails, so a failed write leaves no trace either way, and the savepoint's two
/// statements and its copies of every page the write touches are saved. Some failures (a
/// full disk, an I/O error) end the whole transaction; then, as when a savepoint cannot be
/// rolled back, `broken` records why and nothing of the group is committed.
fn one_statement<T>(
    conn: &Connection,
    broken: &mut Option<Arc<rusqlite::Error>>,
    write: impl FnOnce(&Connection) -> Result<T, SqliteError>,
) -> Result<T, SqliteError> {
    unless_broken(broken)?;
    let result = write(conn);
    if result.is_err() && conn.is_autocommit() {
        *broken = Some(Arc::new(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
            Some("a failed write ended the group's transaction".into()),
        )));
    }
    result
}

/// The group's error once it is broken: then a write runs nothing and answers that.
fn unless_broken(broken: &Option<Arc<rusqlite::Error>>) -> Result<(), SqliteError> {
    match broken {
        Some(error) => Err(SqliteError::Shared(Arc::clone(error))),
        None => Ok(()),
    }
}

/// Runs a statement without parameters through the connection's statement cache: the
/// savepoint statements run twice for every write, so they are parsed once, not each time.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}
