#!/usr/bin/env python3
"""What keeping the pending rows costs in SQLite, three ways (docs/performance.md, tenth session of 3 December).

The event log commits one pending row (~650 bytes: a profile's snapshot) per change, and the write-behind
deletes the rows behind it once their changes are in the profile tables. This measures, on a temporary
file in WAL mode without syncs (secure_delete off, as in the server's bundled SQLite; Debian's own
build turns it on):

  append   rows appended in commits of 50, the oldest deleted 250 at a time behind them (the server's way)
  keep     the same appends, never deleted (the floor: what the deletion adds)
  ring     rows overwritten in place in a ring of slots (slot = seq % R, an index on seq)
  clear    a table of N rows cleared whole (DELETE without WHERE), as per-generation tables would be

and prints microseconds and WAL bytes per row. The interpreter's own cost (~8 µs per row) is in every
figure; the differences between the rows are SQLite's. About a minute; uses ~300 MB in the directory.

    benchmark/load/pending-rows.py [rows, default 200000] [directory, default /tmp]
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
DIRECTORY = sys.argv[2] if len(sys.argv) > 2 else "/tmp"
BATCH = 50
DELETE_EVERY = 5  # commits: 250 rows deleted per 250 appended
COLUMNS = "account_id INTEGER NOT NULL, audience TEXT NOT NULL, profile_id BLOB NOT NULL, snapshot BLOB NOT NULL, effects BLOB"


def connect(path):
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=OFF", "secure_delete=OFF", "wal_autocheckpoint=0", "cache_size=-65536"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def row():
    return (1, "customers", os.urandom(16), os.urandom(random.randint(450, 750)), None)


def checkpoint(connection):
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def measure(mode, directory):
    path = os.path.join(directory, f"{mode}.db")
    c = connect(path)
    if mode == "ring":
        c.execute(f"CREATE TABLE p (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, {COLUMNS})")
        ring = 2 * ROWS
        insert = lambda seq: c.execute("INSERT OR REPLACE INTO p VALUES (?,?,?,?,?,?,?)", (seq % ring, seq, *row()))
        backlog = ring  # the ring full once round, as in steady state
    else:
        c.execute(f"CREATE TABLE p (seq INTEGER PRIMARY KEY, {COLUMNS})")
        insert = lambda seq: c.execute("INSERT INTO p VALUES (?,?,?,?,?,?)", (seq, *row()))
        backlog = ROWS  # rows waiting to be written behind when the measurement starts
    seq = 0
    c.execute("BEGIN")
    for _ in range(backlog):
        seq += 1
        insert(seq)
    c.execute("COMMIT")
    checkpoint(c)
    if mode == "clear":
        started = time.perf_counter()
        c.execute("BEGIN")
        c.execute("DELETE FROM p")
        c.execute("COMMIT")
        took = time.perf_counter() - started
        wal = os.path.getsize(path + "-wal")
        c.close()
        return took * 1e6 / ROWS, wal / ROWS, f"one transaction of {took * 1000:.0f} ms"
    deleted = 0
    started = time.perf_counter()
    for commit in range(ROWS // BATCH):
        c.execute("BEGIN")
        for _ in range(BATCH):
            seq += 1
            insert(seq)
        c.execute("COMMIT")
        if mode == "append" and (commit + 1) % DELETE_EVERY == 0:
            deleted += BATCH * DELETE_EVERY
            c.execute("BEGIN")
            c.execute("DELETE FROM p WHERE seq <= ?", (deleted,))
            c.execute("COMMIT")
    took = time.perf_counter() - started
    wal = os.path.getsize(path + "-wal")
    c.close()
    return took * 1e6 / ROWS, wal / ROWS, ""


def main():
    random.seed(1)
    print(f"{ROWS:,} rows of 450-750 bytes, commits of {BATCH}")
    print(f"{'way':8} {'us/row':>8} {'WAL B/row':>10}")
    for mode in ("append", "keep", "ring", "clear"):
        with tempfile.TemporaryDirectory(prefix="tailor-pending-", dir=DIRECTORY) as directory:
            micros, wal, note = measure(mode, directory)
        print(f"{mode:8} {micros:8.2f} {wal:10.0f}  {note}")


if __name__ == "__main__":
    main()
