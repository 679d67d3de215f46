//! Message search on the FTS5 index `search.messages_fts` (in its own file: `search_db`): the
//! match expression and the query that walks the index newest first.

use std::collections::HashSet;
use std::fmt::Write as _;

use chat_core::id::{MessageId, RoomId};
use chat_core::model::Message;
use chat_core::search::{SearchQuery, Terms};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::{self, message_columns};

/// Up to this many rooms go into the match expression, so FTS5 itself keeps only their
/// messages; with more, the words alone are matched and rooms are filtered row by row (a
/// user in that many rooms has most of the history in them anyway).
const ROOMS_IN_EXPRESSION: usize = 256;

/// The messages of `query.rooms` whose text has every word (as a word or a word's prefix),
/// newest (highest rowid) first.
pub(crate) fn search(conn: &Connection, query: &SearchQuery) -> rusqlite::Result<Vec<Message>> {
    if query.rooms.is_empty() || query.limit == 0 {
        return Ok(Vec::new());
    }
    let below = match query.before {
        None => i64::MAX,
        Some(id) => match rowid(conn, id)? {
            Some(rowid) => rowid,
            None => return Ok(Vec::new()),
        },
    };
    let rooms: HashSet<RoomId> = query.rooms.iter().copied().collect();
    let in_expression = (rooms.len() <= ROOMS_IN_EXPRESSION).then_some(&query.rooms[..]);
    let expression = match_expression(&query.terms, in_expression);
    let mut statement = conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!("m."),
        " FROM search.messages_fts AS f JOIN messages m ON m.rowid = f.rowid",
        " WHERE f.messages_fts MATCH ?1 AND f.rowid < ?2",
        " ORDER BY f.rowid DESC"
    ))?;
    let mut found = statement.query(params![expression, below])?;
    let mut hits = Vec::with_capacity(query.limit.min(64));
    while let Some(row) = found.next()? {
        let message = rows::message(row, 0)?;
        if rooms.contains(&message.room_id) && message.event.is_none() && !message.deleted {
            hits.push(message);
            if hits.len() == query.limit {
                break;
            }
        }
    }
    Ok(hits)
}

/// The rowid of a message: its place in the order of insertion.
fn rowid(conn: &Connection, id: MessageId) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT rowid FROM messages WHERE id = ?1")?
        .query_row([id.0.as_bytes()], |row| row.get(0))
        .optional()
}

/// `text : "w1"* AND text : "w2"* AND (room : "r1" OR room : "r2")`. Words are runs of
/// letters and digits ([`Terms`]), so quoting them leaves nothing for FTS5 to read as syntax.
fn match_expression(terms: &Terms, rooms: Option<&[RoomId]>) -> String {
    let mut expression = String::new();
    for (i, word) in terms.words().iter().enumerate() {
        if i > 0 {
            expression.push_str(" AND ");
        }
        let _ = write!(expression, "text : \"{word}\"*");
    }
    if let Some(rooms) = rooms {
        expression.push_str(" AND (");
        for (i, room) in rooms.iter().enumerate() {
            if i > 0 {
                expression.push_str(" OR ");
            }
            let _ = write!(expression, "room : \"{room}\"");
        }
        expression.push(')');
    }
    expression
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_quote_words_and_rooms() {
        let room = RoomId::generate();
        let terms = Terms::parse("Lunch, AND café").unwrap();
        assert_eq!(
            match_expression(&terms, Some(&[room])),
            format!(
                "text : \"lunch\"* AND text : \"and\"* AND text : \"café\"* AND (room : \"{room}\")"
            )
        );
        assert_eq!(match_expression(&terms, None).matches("room").count(), 0);
    }
}
