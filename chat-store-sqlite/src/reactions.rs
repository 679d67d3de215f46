//! Reactions: one row per (message, emoji, user), read back grouped by emoji in the order
//! each emoji was first used, and changed on the writer thread.

use chat_core::id::MessageId;
use chat_core::model::{Message, Reacted, Reaction};
use chat_core::store::ReactionChange;
use rusqlite::{Connection, OptionalExtension};

use crate::error::SqliteError;
use crate::rows;

/// The reactions of one message, grouped by emoji, in rowid (arrival) order.
fn of_message(conn: &Connection, id: MessageId) -> rusqlite::Result<Vec<Reaction>> {
    let mut reactions: Vec<Reaction> = Vec::new();
    let mut statement = conn.prepare_cached(
        "SELECT emoji, user_id FROM reactions WHERE message_id = ?1 ORDER BY rowid",
    )?;
    let mut found = statement.query([id.0.as_bytes()])?;
    while let Some(row) = found.next()? {
        let emoji: String = row.get(0)?;
        let user = chat_core::UserId(chat_core::id::RawId::from_bytes(row.get(1)?));
        match reactions
            .iter_mut()
            .find(|reaction| reaction.emoji == emoji)
        {
            Some(reaction) => reaction.users.push(user),
            None => reactions.push(Reaction {
                emoji,
                users: vec![user],
            }),
        }
    }
    Ok(reactions)
}

/// Fills in the reactions of `messages`: one primary-key range per message that is not a
/// tombstone.
pub(crate) fn attach(conn: &Connection, messages: &mut [Message]) -> rusqlite::Result<()> {
    for message in messages.iter_mut().filter(|message| !message.deleted) {
        message.reactions = of_message(conn, message.id)?;
    }
    Ok(())
}

/// Adds or removes one reaction and stamps the message's change time when something changed.
pub(crate) fn react(
    conn: &Connection,
    change: &ReactionChange<'_>,
    max_distinct: usize,
) -> Result<Reacted, SqliteError> {
    let (id, emoji, user) = (
        change.message.0.as_bytes(),
        change.emoji,
        change.user.0.as_bytes(),
    );
    crate::conversation::live_message(conn, change.room, change.message)?;
    let changed = if change.add {
        let present: Option<i64> = conn
            .prepare_cached(
                "SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3",
            )?
            .query_row((id, emoji, user), |row| row.get(0))
            .optional()?;
        if present.is_some() {
            false
        } else {
            let (distinct, used): (usize, bool) = conn
                .prepare_cached(
                    "SELECT count(DISTINCT emoji), coalesce(max(emoji = ?2), 0)
                     FROM reactions WHERE message_id = ?1",
                )?
                .query_row((id, emoji), |row| Ok((row.get(0)?, row.get(1)?)))?;
            if !used && distinct >= max_distinct {
                return Err(SqliteError::TooManyReactions);
            }
            conn.prepare_cached(
                "INSERT INTO reactions (message_id, emoji, user_id) VALUES (?1, ?2, ?3)",
            )?
            .execute((id, emoji, user))?;
            true
        }
    } else {
        conn.prepare_cached(
            "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3",
        )?
        .execute((id, emoji, user))?
            > 0
    };
    if changed {
        conn.prepare_cached("UPDATE messages SET changed_at = ?2 WHERE id = ?1")?
            .execute((id, rows::millis(change.at)))?;
    }
    let mut message =
        crate::queries::message(conn, change.message)?.ok_or(SqliteError::MessageNotFound)?;
    attach(conn, std::slice::from_mut(&mut message))?;
    Ok(Reacted { message, changed })
}
