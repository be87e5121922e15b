"""``SqliteNameIndexStore``: the segment's definitions by name, one SQLite file.

Lookups read one name's rows through an index, so a search does not load the whole table.
Several processes may update it at once (WAL, bounded busy wait, one transaction per
update). Any SQLite error makes the store behave as empty; a corrupt file is replaced.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

from trifecta.adapters.sqlite_common import open_retrying, use_wal
from trifecta.domain.ports import NameIndexStore, NameRow, Stamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER);
CREATE TABLE IF NOT EXISTS names (
    name TEXT, path TEXT, kind TEXT, qualname TEXT, line_start INTEGER, line_end INTEGER
);
CREATE INDEX IF NOT EXISTS names_by_name ON names (name);
CREATE INDEX IF NOT EXISTS names_by_path ON names (path);
"""
BUSY_TIMEOUT_MS = 2_000
ROWS_VERSION = 2
"""What the rows hold (``PRAGMA user_version``); a database of another version is emptied
on opening, so every file is indexed again. 2: class attributes (``self.x``) too."""


class SqliteNameIndexStore(NameIndexStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                db = open_retrying(self._connect, BUSY_TIMEOUT_MS)
            except sqlite3.OperationalError:
                raise  # still locked after the wait: the caller's guard degrades to empty
            except sqlite3.DatabaseError:  # not a database: discard it, start afresh
                self._discard()
                db = open_retrying(self._connect, BUSY_TIMEOUT_MS)
            self._db = db
        return self._db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            use_wal(db)
            db.executescript(SCHEMA)
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version != ROWS_VERSION:  # rows of another format: index every file again
                db.executescript(
                    "BEGIN IMMEDIATE; DELETE FROM names; DELETE FROM files;"
                    f" PRAGMA user_version = {ROWS_VERSION}; COMMIT;"
                )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{self.path}{suffix}").unlink()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError):
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
            self._db = None

    def stamps(self) -> dict[str, Stamp]:
        with self._guard():
            rows = self._open().execute("SELECT path, size, mtime_ns FROM files").fetchall()
            return {str(p): (int(s), int(m)) for p, s, m in rows}
        return {}

    def update(
        self,
        changed: Mapping[str, tuple[Stamp, Sequence[NameRow]]],
        removed: Collection[str],
    ) -> None:
        with self._guard():
            db = self._open()
            db.execute("BEGIN IMMEDIATE")
            try:
                gone = [(p,) for p in [*changed, *removed]]
                db.executemany("DELETE FROM names WHERE path = ?", gone)
                db.executemany("DELETE FROM files WHERE path = ?", gone)
                db.executemany(
                    "INSERT INTO files (path, size, mtime_ns) VALUES (?, ?, ?)",
                    [(p, stamp[0], stamp[1]) for p, (stamp, _rows) in changed.items()],
                )
                db.executemany(
                    "INSERT INTO names (name, path, kind, qualname, line_start, line_end)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (name, p, kind, qual, start, end)
                        for p, (_stamp, rows) in changed.items()
                        for kind, name, qual, start, end in rows
                    ],
                )
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise

    def lookup(self, name: str) -> list[tuple[str, NameRow]]:
        with self._guard():
            rows = (
                self._open()
                .execute(
                    "SELECT path, kind, name, qualname, line_start, line_end FROM names"
                    " WHERE name = ? ORDER BY path, line_start",
                    (name,),
                )
                .fetchall()
            )
            return [(str(p), (str(k), str(n), str(q), int(a), int(b))) for p, k, n, q, a, b in rows]
        return []

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
