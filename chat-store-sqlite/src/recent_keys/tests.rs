//! The writer's memory of the rooms' newest keys, against a real database.

use chat_core::model::{User, now};
use chat_core::testing::fixtures::{new_message, new_user};

use super::reads::STOP_CHECK;
use super::*;
use crate::{rows, schema, writes};

/// A migrated database with Ann in a direct room with Bob.
fn database() -> (Connection, RoomId, User) {
    let mut conn = Connection::open_in_memory().unwrap();
    schema::migrate(&mut conn).unwrap();
    let ann = writes::insert_user(&conn, new_user("Ann")).unwrap();
    let bob = writes::insert_user(&conn, new_user("Bob")).unwrap();
    let room = writes::direct_room(&conn, (ann.id, bob.id), now()).unwrap();
    (conn, room.id, ann)
}

/// A second room for `ann`, with Cat.
fn second_room(conn: &Connection, ann: &User) -> RoomId {
    let cat = writes::insert_user(conn, new_user("Cat")).unwrap();
    writes::direct_room(conn, (ann.id, cat.id), now())
        .unwrap()
        .id
}

/// Appends a message from `sender` through `keys`, keyed when `client_id` is given;
/// answers whether it was stored (false: recognized as a resend).
fn send(
    conn: &Connection,
    keys: &mut RecentKeys,
    room: RoomId,
    sender: &User,
    client_id: Option<&str>,
) -> bool {
    let message = new_message(room, sender, "hi", client_id);
    writes::append(conn, message, keys).unwrap().created
}

#[test]
fn a_resend_is_recognized_until_its_original_leaves_the_window() {
    let (conn, room, ann) = database();
    let mut keys = RecentKeys::sized(4, CAPACITY);
    assert!(send(&conn, &mut keys, room, &ann, Some("k")));
    for _ in 0..3 {
        assert!(send(&conn, &mut keys, room, &ann, None));
    }
    assert!(!send(&conn, &mut keys, room, &ann, Some("k")));
    assert!(send(&conn, &mut keys, room, &ann, None));
    assert!(send(&conn, &mut keys, room, &ann, Some("k")));
}

#[test]
fn entries_this_writer_did_not_record_are_read_back() {
    let (conn, room, ann) = database();
    let mut keys = RecentKeys::sized(8, CAPACITY);
    assert!(send(&conn, &mut keys, room, &ann, Some("a")));
    let mut other_writer = RecentKeys::sized(8, CAPACITY);
    assert!(send(&conn, &mut other_writer, room, &ann, Some("b")));
    assert!(!send(&conn, &mut keys, room, &ann, Some("b")));
    assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
}

#[test]
fn forgotten_rooms_are_read_again() {
    let (conn, room, ann) = database();
    let other = second_room(&conn, &ann);
    let mut keys = RecentKeys::sized(8, 3);
    assert!(send(&conn, &mut keys, room, &ann, Some("a")));
    assert!(send(&conn, &mut keys, room, &ann, Some("b")));
    assert!(send(&conn, &mut keys, other, &ann, Some("c")));
    assert!(!keys.rooms.contains_key(&room), "{keys:?}");
    assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
    keys.forget_all();
    assert!(!send(&conn, &mut keys, room, &ann, Some("b")));
    assert!(!send(&conn, &mut keys, other, &ann, Some("c")));
}

#[test]
fn warming_reads_every_rooms_newest_keys_at_once() {
    let (conn, room, ann) = database();
    let other = second_room(&conn, &ann);
    let mut first = RecentKeys::sized(8, CAPACITY);
    for (target, key) in [(room, "a"), (other, "b"), (room, "c"), (other, "d")] {
        assert!(send(&conn, &mut first, target, &ann, Some(key)));
    }
    let mut warmed = RecentKeys::sized(8, CAPACITY);
    assert_eq!(
        warmed.warm(&conn, rows::millis(now()), || true).unwrap(),
        Some(4)
    );
    assert_eq!(warmed.rooms.len(), 2);
    assert_eq!(warmed.held, 6);
    assert_eq!(warmed.rooms[&room].from, 0, "the whole table was read");
    assert_eq!(warmed.rooms[&room].head, 2);
    assert!(!send(&conn, &mut warmed, room, &ann, Some("a")));
    assert!(!send(&conn, &mut warmed, other, &ann, Some("d")));

    let mut capped = RecentKeys::sized(8, 2);
    capped.warm(&conn, rows::millis(now()), || true).unwrap();
    assert_eq!(
        capped.rooms[&room].from, 2,
        "only the newest rows were read"
    );
    assert!(!send(&conn, &mut capped, room, &ann, Some("a")));
    assert!(send(&conn, &mut capped, room, &ann, Some("e")));
}

#[test]
fn adopted_rooms_are_brought_up_to_date() {
    let (conn, room, ann) = database();
    let other = second_room(&conn, &ann);
    let mut elsewhere = RecentKeys::sized(8, CAPACITY);
    assert!(send(&conn, &mut elsewhere, other, &ann, Some("y")));
    let mut warmed = RecentKeys::sized(8, CAPACITY);
    warmed.warm(&conn, rows::millis(now()), || true).unwrap();
    assert!(send(&conn, &mut elsewhere, other, &ann, Some("z")));

    let mut keys = RecentKeys::sized(8, CAPACITY);
    assert!(send(&conn, &mut keys, room, &ann, Some("a")));
    keys.adopt(warmed);
    assert_eq!(keys.rooms[&other].head, 1, "as the walk saw it");
    assert!(!send(&conn, &mut keys, other, &ann, Some("z")));
    assert!(!send(&conn, &mut keys, other, &ann, Some("y")));
    assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
}

#[test]
fn warming_stops_when_told() {
    let (conn, room, ann) = database();
    let mut keys = RecentKeys::sized(8, CAPACITY);
    for i in 0..STOP_CHECK {
        assert!(send(&conn, &mut keys, room, &ann, Some(&i.to_string())));
    }
    let mut warmed = RecentKeys::sized(8, CAPACITY);
    assert_eq!(
        warmed.warm(&conn, rows::millis(now()), || false).unwrap(),
        None
    );
    assert!(warmed.rooms.is_empty());
}

#[test]
fn a_colliding_key_is_not_taken_for_the_original() {
    let (conn, room, ann) = database();
    let mut keys = RecentKeys::sized(8, CAPACITY);
    assert!(send(&conn, &mut keys, room, &ann, Some("a")));
    conn.execute(
        "UPDATE messages SET client_key = ?1",
        [rows::client_key(ann.id, "b")],
    )
    .unwrap();
    keys.forget_all();
    assert!(send(&conn, &mut keys, room, &ann, Some("b")));
}

#[test]
fn reading_stops_at_entries_older_than_the_age_limit() {
    let (conn, room, ann) = database();
    let mut keys = RecentKeys::sized(8, CAPACITY);
    assert!(send(&conn, &mut keys, room, &ann, Some("old")));
    assert!(send(&conn, &mut keys, room, &ann, Some("new")));
    conn.execute(
        "UPDATE messages SET ts = ts - ?1 WHERE seq = 1",
        [window_millis() + 1],
    )
    .unwrap();
    let mut cold = RecentKeys::sized(8, CAPACITY);
    let new = rows::client_key(ann.id, "new");
    let found = cold.candidates(&conn, room, 2, new, rows::millis(now()));
    assert_eq!(found.unwrap(), vec![2]);
    assert_eq!(cold.rooms[&room].keys.len(), 1);
}

/// Appends a message through `keys` and answers its seq.
fn seq_of_send(conn: &Connection, keys: &mut RecentKeys, room: RoomId, sender: &User) -> u64 {
    let message = new_message(room, sender, "hi", None);
    writes::append(conn, message, keys).unwrap().message.seq
}

#[test]
fn a_head_is_trusted_until_something_else_may_have_written() {
    let (conn, room, ann) = database();
    let mut keys = RecentKeys::sized(8, CAPACITY);
    keys.saw_data_version(Some(7));
    assert_eq!(keys.head(room), None, "never read");
    assert!(send(&conn, &mut keys, room, &ann, Some("a")));
    assert_eq!(keys.head(room), Some(1));
    assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 2);
    assert_eq!(keys.head(room), Some(2));

    keys.distrust(room);
    assert_eq!(keys.head(room), None, "a membership change is coming");
    assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 3);
    assert_eq!(keys.head(room), Some(3), "read, then recorded");

    keys.saw_data_version(Some(7));
    assert_eq!(keys.head(room), Some(3), "no other connection wrote");
    keys.saw_data_version(Some(8));
    assert_eq!(keys.head(room), None, "another connection wrote");
    assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 4);
    keys.saw_data_version(None);
    assert_eq!(keys.head(room), None, "the version could not be read");
}

#[test]
fn a_head_left_behind_is_read_again() {
    let (conn, room, ann) = database();
    let mut keys = RecentKeys::sized(8, CAPACITY);
    assert!(send(&conn, &mut keys, room, &ann, Some("a")));
    let mut other_writer = RecentKeys::sized(8, CAPACITY);
    assert_eq!(seq_of_send(&conn, &mut other_writer, room, &ann), 2);
    assert_eq!(keys.head(room), Some(1), "stale, and trusted");
    assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 3);
    assert!(send(&conn, &mut keys, room, &ann, Some("b")));
    assert_eq!(keys.head(room), Some(4));
    assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
}

/// What [`RecentKeys::saw_data_version`] relies on: a connection's `data_version` moves
/// when another connection commits, and not for its own commits or for the checkpoints the
/// checkpointer runs.
#[test]
fn data_version_moves_only_for_other_connections_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.sqlite3");
    let mut writer = Connection::open(&path).unwrap();
    schema::configure_writer(&writer).unwrap();
    schema::migrate(&mut writer).unwrap();
    let other = Connection::open(&path).unwrap();
    let version = |conn: &Connection| -> i64 {
        conn.query_row("PRAGMA data_version", [], |row| row.get(0))
            .unwrap()
    };
    writes::insert_user(&writer, new_user("Ann")).unwrap();
    let seen = version(&writer);
    for mode in ["PASSIVE", "RESTART"] {
        other
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
            .unwrap();
        writes::insert_user(&writer, new_user("Bob")).unwrap();
        assert_eq!(version(&writer), seen, "after a {mode} checkpoint");
    }
    writes::insert_user(&other, new_user("Cat")).unwrap();
    assert_ne!(version(&writer), seen);
}

#[test]
fn reading_a_room_walks_its_seq_index() {
    let (conn, _, _) = database();
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT seq, client_key, ts FROM messages
             WHERE room_id = ?1 AND seq > ?2 AND seq < ?3 ORDER BY seq DESC",
        )
        .unwrap()
        .query_map((b"r".as_slice(), 0, 8), |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert!(
        plan[0].starts_with("SEARCH messages USING INDEX sqlite_autoindex_messages"),
        "{plan:?}"
    );
}
