#!/usr/bin/env python3
"""Grows the history of a `chat-bench` data dir, so the server can be measured on a big database.

A bench run starts on a fresh database, where every index fits in the page cache; a server that
has run for months has millions of messages. This inserts PER_ROOM messages into every room of
the database (round robin over rooms, as live traffic interleaves them), each from one of the
room's first two members in turn and with a `client_id`, the way `chat-bench` sends, stamped
one millisecond apart ending AGE_MS before the newest stored message. It marks their senders'
read positions stored, and removes the search index (`chat.sqlite3-search`), which the next
start rebuilds in the background: start `chat serve --data-dir DIR` once and stop it after it
logs "built the search index", so that measured runs do no catch-up work.

Make the data dir with a short run of `chat-bench --spawn --data-dir DIR`, stop it, then:

    python3 benches/scripts/grow-history.py DIR/chat.sqlite3 8000 5000000

(4 million messages over 1,000 users in 500 rooms: about 1.1 GB, a minute). Copy the dir
before each measured run, since a run adds to it.
"""
import os
import sqlite3
import sys


def client_key(sender: bytes, client_id: str) -> int:
    """chat-store-sqlite's `rows::client_key`: FNV-1a 64 of sender and client_id, as i64."""
    value = 0xCBF29CE484222325
    for byte in sender + client_id.encode():
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= (1 << 63) else value


def main() -> None:
    path, per_room, age_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    heads = dict(db.execute(
        "SELECT r.id, coalesce(max(m.seq), 0) FROM rooms r"
        " LEFT JOIN messages m ON m.room_id = r.id GROUP BY r.id"))
    members = {}
    for room, user, name in db.execute(
            "SELECT m.room_id, m.user_id, u.name FROM room_members m"
            " JOIN users u ON u.id = m.user_id ORDER BY m.rowid"):
        members.setdefault(room, []).append((user, name))
    rooms = [room for room in heads if len(members.get(room, [])) >= 2]
    newest_id, newest_ts = db.execute("SELECT max(id), max(ts) FROM messages").fetchone()
    next_id = int.from_bytes(newest_id or bytes(12), "big") + 1
    ts = (newest_ts or 0) - age_ms - per_room * len(rooms)
    text = "the quick brown fox jumps over the lazy dog " * 2
    insert = ("INSERT INTO messages (id, room_id, seq, sender_id, sender_name, text,"
              " client_id, client_key, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    batch = []
    db.execute("BEGIN")
    for i in range(per_room):
        for k, room in enumerate(rooms):
            sender, name = members[room][i % 2]
            heads[room] += 1
            client_id = f"grown-{i}-{k}"
            batch.append((next_id.to_bytes(12, "big"), room, heads[room], sender, name,
                          text[:100], client_id, client_key(sender, client_id), ts))
            next_id += 1
            ts += 1
        if len(batch) >= 100_000:
            db.executemany(insert, batch)
            batch.clear()
    db.executemany(insert, batch)
    top = db.execute("SELECT max(rowid) FROM messages").fetchone()[0]
    db.execute("UPDATE read_marks_state SET stored_upto = ?", (top,))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(db.execute("SELECT count(*) FROM messages").fetchone()[0], "messages")
    db.close()
    for suffix in ("-search", "-search-wal", "-search-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


if __name__ == "__main__":
    main()
