#!/usr/bin/env python3
"""What indexing each message for search costs SQLite, per message, by group-commit size.

Inserts 10,000 short chat messages into a WAL database in transactions of N rows, with and
without an FTS5 insert trigger like chat-store-sqlite's before V12, and prints CPU time per
message. The server's table also has `contentless_delete = 1` (SQLite 3.43+), which the
Python module's older SQLite may lack; it does not change what an insert writes.
Run: python3 benches/scripts/fts-cost.py
"""
import os
import sqlite3
import tempfile
import time

TOTAL = 10_000


def run(fts: bool, group: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(os.path.join(folder, "cost.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode = wal")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, room INTEGER, text TEXT)")
        if fts:
            conn.execute(
                "CREATE VIRTUAL TABLE f USING fts5(text, room, content = '',"
                " tokenize = 'unicode61 remove_diacritics 2')"
            )
            conn.execute(
                "CREATE TRIGGER ti AFTER INSERT ON m BEGIN"
                " INSERT INTO f (rowid, text, room) VALUES (new.id, new.text, new.room); END"
            )
        started = time.process_time()
        for first in range(0, TOTAL, group):
            conn.execute("BEGIN IMMEDIATE")
            for n in range(first, first + group):
                conn.execute(
                    "INSERT INTO m (room, text) VALUES (?, ?)",
                    (n % 100, f"a short chat message of typical length {n}"),
                )
            conn.execute("COMMIT")
        spent = time.process_time() - started
        conn.close()
        return spent / TOTAL * 1e6


if __name__ == "__main__":
    print(f"SQLite {sqlite3.sqlite_version}; CPU µs per message")
    print(f"{'group':>6} {'indexed':>8} {'not indexed':>12}")
    for group in (1, 5, 20, 100, 1000):
        print(f"{group:>6} {run(True, group):>8.1f} {run(False, group):>12.1f}")
