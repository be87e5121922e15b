"""What every SQLite-backed adapter needs alike: opening a database that other processes
may be creating at the same moment."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

WAL = "wal"


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch ``conn``'s database to WAL unless it already is (the switch needs an
    exclusive lock, so it is done once, by whichever process creates the database)."""

    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() != WAL:
        conn.execute("PRAGMA journal_mode = WAL")


def open_retrying(
    open_once: Callable[[], sqlite3.Connection], timeout_ms: int
) -> sqlite3.Connection:
    """``open_once()``, retried for up to ``timeout_ms`` while SQLite reports the database
    locked or busy: creating a database or switching it to WAL is reported that way without
    consulting the busy handler. Other errors, and a lock that outlasts the wait, raise."""

    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.005
    while True:
        try:
            return open_once()
        except sqlite3.OperationalError as e:
            locked = "locked" in str(e) or "busy" in str(e)
            if not locked or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
