"""``SqliteSkeletonCache``: skeletons in ``<segment>/_ctx/cache/skeletons.sqlite3``.

- One table keyed by ``sha256:parser:version``; values in the compact codec of
  ``trifecta.domain.skeleton_codec``.
- Concurrency: WAL journal and a bounded ``busy_timeout``; each write is one short
  ``BEGIN IMMEDIATE`` transaction. A read or write that still cannot get the database is a
  miss / a value not stored, never an error for the caller.
- Size: a value larger than ``max_entry_bytes`` is not stored (``put`` returns False at
  once, without a retry). After a write pushes the total over ``max_bytes``, the least
  recently used entries are deleted, in one pass over a bounded list, down to 90 % of it.
  "Used" is refreshed on a hit at most once a minute, so hits stay read-only.
- A file that is not a valid database is moved aside (``.corrupt``) and a fresh one made.
- ``sqlite3`` is imported and the file opened on first use, never at import.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from trifecta.domain.model import Skeleton
from trifecta.domain.ports import Clock, SkeletonCache
from trifecta.domain.skeleton_codec import decode_skeleton, encode_skeleton

if TYPE_CHECKING:
    import sqlite3

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS skeletons ("
    " key TEXT PRIMARY KEY, value BLOB NOT NULL, size INTEGER NOT NULL, used REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS skeletons_used ON skeletons(used)",
)
TOUCH_AFTER_S = 60.0
EVICT_TO = 0.9


class SqliteSkeletonCache(SkeletonCache):
    def __init__(
        self,
        path: Path,
        clock: Clock,
        max_bytes: int = 64 * 1024 * 1024,
        max_entry_bytes: int = 1024 * 1024,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.path = path
        self._clock = clock
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.errors = 0  # operations degraded to a miss / not stored

    # ---- connection ----------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        from trifecta.adapters.sqlite_common import use_wal

        self.path.parent.mkdir(parents=True, exist_ok=True)
        # every use is under self._lock: a build thread may fill the cache and another
        # thread close it (the MCP server builds on a thread of its own)
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            for statement in SCHEMA:
                conn.execute(statement)
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        import sqlite3

        from trifecta.adapters.sqlite_common import open_retrying

        try:
            self._conn = open_retrying(self._open, self._busy_timeout_ms)
        except sqlite3.OperationalError:  # locked past the wait, read-only segment, ...
            self.errors += 1
            return None
        except sqlite3.DatabaseError:  # not a database: move it aside, start afresh
            try:
                self.path.replace(self.path.with_name(self.path.name + ".corrupt"))
                for suffix in ("-wal", "-shm"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
                self._conn = self._open()
            except (OSError, sqlite3.DatabaseError):
                self.errors += 1
                return None
        except OSError:
            self.errors += 1
            return None
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ---- port ----------------------------------------------------------------------------

    @staticmethod
    def _key(sha256: str, parser: str, version: str) -> str:
        return f"{sha256}:{parser}:{version}"

    def get(self, sha256: str, parser: str, version: str) -> Skeleton | None:
        import sqlite3

        key = self._key(sha256, parser, version)
        with self._lock:
            conn = self._connection()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT value, used FROM skeletons WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.DatabaseError:
                self.errors += 1
                return None
            if row is None:
                return None
            now = self._clock.epoch_s()
            if now - row[1] > TOUCH_AFTER_S:
                try:
                    conn.execute("UPDATE skeletons SET used = ? WHERE key = ?", (now, key))
                except sqlite3.DatabaseError:  # busy or read-only: the hit still counts
                    self.errors += 1
        try:
            return decode_skeleton(row[0])
        except ValueError:
            self.errors += 1
            return None

    def put(self, sha256: str, parser: str, version: str, skeleton: Skeleton) -> bool:
        import sqlite3

        data = encode_skeleton(skeleton)
        if len(data) > self.max_entry_bytes:
            return False
        key = self._key(sha256, parser, version)
        with self._lock:
            conn = self._connection()
            if conn is None:
                return False
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(
                        "INSERT OR REPLACE INTO skeletons(key, value, size, used)"
                        " VALUES (?, ?, ?, ?)",
                        (key, data, len(data), self._clock.epoch_s()),
                    )
                    self._evict(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError:
                self.errors += 1
                return False
        return True

    def put_encoded(self, entries: Sequence[tuple[str, str, str, bytes]]) -> int:
        """Every entry in one transaction, one eviction pass at the end (a value that does
        not decode is a miss when read: ``get`` never returns a wrong skeleton)."""

        import sqlite3

        now = self._clock.epoch_s()
        rows = []
        for sha256, parser, version, data in entries:
            if len(data) <= self.max_entry_bytes:
                rows.append((self._key(sha256, parser, version), data, len(data), now))
        if not rows:
            return 0
        with self._lock:
            conn = self._connection()
            if conn is None:
                return 0
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        "INSERT OR REPLACE INTO skeletons(key, value, size, used)"
                        " VALUES (?, ?, ?, ?)",
                        rows,
                    )
                    self._evict(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError:
                self.errors += 1
                return 0
        return len(rows)

    def _evict(self, conn: sqlite3.Connection) -> None:
        (total,) = conn.execute("SELECT COALESCE(SUM(size), 0) FROM skeletons").fetchone()
        if total <= self.max_bytes:
            return
        excess = total - int(self.max_bytes * EVICT_TO)
        doomed: list[tuple[str]] = []
        cursor = conn.execute("SELECT key, size FROM skeletons ORDER BY used, key")
        for key, size in cursor:
            if excess <= 0:
                break
            doomed.append((key,))
            excess -= size
        cursor.close()
        conn.executemany("DELETE FROM skeletons WHERE key = ?", doomed)

    def stats(self) -> Mapping[str, int]:
        import sqlite3

        with self._lock:
            conn = self._connection()
            if conn is None:
                return {"entries": 0, "bytes": 0}
            try:
                entries, size = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM skeletons"
                ).fetchone()
            except sqlite3.DatabaseError:
                return {"entries": 0, "bytes": 0}
        return {"entries": int(entries), "bytes": int(size)}
