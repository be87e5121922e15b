"""``SqliteSearchIndex``: FTS5 over pre-tokenised chunk fields, ranked by weighted BM25.

Layout (``<segment>/_ctx/context_index.sqlite``): ``chunks`` (metadata, preview),
``fts`` (title, symbols, body token streams; rowid = chunks.rowid), ``paths`` (one row per
file: its path's words, so a path word counts once per file, not once per chunk),
``files``, ``dirs``, ``skipped`` (the freshness state) and ``meta`` (which pack it indexes).
Both full-text tables stem with FTS5's ``porter`` tokenizer over ``unicode61``, so
``closing`` meets ``close`` and ``redirects`` meets ``redirect``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

from trifecta.adapters.tempfiles import fault_point, temp_path
from trifecta.domain.errors import IndexWriteFailed, PackCorrupt, PackMissing
from trifecta.domain.model import SkippedFile
from trifecta.domain.packs import (
    LENGTH_FLOOR,
    LENGTH_PIVOT,
    Candidate,
    DirStamp,
    IndexDoc,
    IndexHit,
    IndexInfo,
    PackChunk,
    PackState,
    Ranking,
    SourceFile,
)
from trifecta.domain.ports import IndexWriter, SearchIndex

INDEX_FILE = "context_index.sqlite"
INDEX_SCHEMA = "2"
# BM25 column weights: title, symbols, body (see docs/adr/0009).
WEIGHTS = (3.0, 2.0, 1.0)
_TOKENIZER = "porter unicode61 remove_diacritics 0 tokenchars '_'"
SCORE_DIGITS = 4
INSERT_BATCH = 2000  # documents per executemany batch
# How many chunks BM25 alone preselects before the ranking's factors (x0.35 .. x2.5) apply.
# 2,000, 1,000 and 500 gave the same any@5 and MRR on the development set and all four
# held-out sets (issue 10; ADR 0009 amendment 10); each halving costs less (500: a median
# 1.1 ms off an ~8 ms search on the standard-library copy). It stays above
# ranking.CANDIDATES (a contract test says so).
PRESELECT = 500
FILES_NAMED_BATCH = 100  # names per files_named statement
CHECK_POINTS = 9  # chunk rows a sync's pre-update check reads (``check``)


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    title_path TEXT NOT NULL,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    token_est INTEGER NOT NULL,
    meta INTEGER NOT NULL,
    symbols TEXT NOT NULL,
    preview TEXT NOT NULL,
    name TEXT NOT NULL,
    demoted INTEGER NOT NULL
);
CREATE INDEX chunks_path ON chunks(path);
CREATE VIRTUAL TABLE fts USING fts5(title, symbols, body, tokenize = "{tok}");
CREATE VIRTUAL TABLE paths USING fts5(
    path UNINDEXED, demoted UNINDEXED, terms, tokenize = "{tok}"
);
CREATE TABLE files (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT, meta INTEGER,
    lossy INTEGER
);
CREATE TABLE dirs (path TEXT PRIMARY KEY, mtime_ns INTEGER);
CREATE TABLE skipped (path TEXT PRIMARY KEY, reason TEXT);
""".replace("{tok}", _TOKENIZER)

_CHUNK_COLUMNS = (
    "c.id, c.path, c.kind, c.title, c.title_path, c.line_start, c.line_end, c.sha256, "
    "c.token_est, c.meta, c.symbols"
)


def _chunk(row: Sequence[object]) -> PackChunk:
    """A chunk from its index row; a row with the wrong types (edited, corrupted) is
    ``PackCorrupt``, never a ``ValueError`` further in."""

    try:
        chunk = _chunk_fields(row)
    except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        raise PackCorrupt("pack index is corrupt (a chunk row), run ctx build") from e
    return chunk


def _json_list(value: object) -> list[str]:
    parsed = json.loads(str(value))
    if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
        raise TypeError("expected a JSON list of strings")
    return parsed


def _strict_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _check_file_rows(rows: Sequence[Sequence[object]]) -> None:
    """The types ``state()`` insists on, checked without building records."""

    for row in rows:
        if not (type(row[0]) is type(row[3]) is str and type(row[1]) is type(row[2]) is int):
            raise PackCorrupt("pack index is corrupt, run ctx build")


def _chunk_fields(row: Sequence[object]) -> PackChunk:
    return PackChunk(
        id=str(row[0]),
        path=str(row[1]),
        kind=str(row[2]),
        title=str(row[3]),
        title_path=tuple(_json_list(row[4])),
        line_start=_strict_int(row[5]),
        line_end=_strict_int(row[6]),
        sha256=str(row[7]),
        token_est=_strict_int(row[8]),
        meta=bool(row[9]),
        symbols=tuple(_json_list(row[10])),
    )


def _why(error: Exception) -> str:
    """A short reason: a full disk named as such (SQLite says "database or disk is full")."""

    text = str(error)
    if "disk is full" in text or getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the device"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return type(error).__name__


def pad_rows(conn: sqlite3.Connection) -> None:
    """Keep the FTS table at least twice as large as the number of chunks, with empty rows.

    FTS5's BM25 uses ``idf = log((N - n + 0.5) / (n + 0.5))`` and clamps it to ~0 for a
    term in more than half of the rows, so on a small segment an identifier present in
    most chunks would score 0 everywhere and ranking would fall back to ids. Empty rows
    (negative rowids, no tokens, never matched) double N, which keeps every idf positive
    and the order of terms by rarity unchanged (see docs/adr/0009).
    """

    # Counted cheaply (a sync pads on every update): the chunk count from the table's
    # count, the pads from the smallest rowid, since they are always -1 .. -N.
    chunks = int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
    lowest = conn.execute("SELECT rowid FROM fts ORDER BY rowid LIMIT 1").fetchone()
    pads = -int(lowest[0]) if lowest is not None and int(lowest[0]) < 0 else 0
    wanted = chunks + 1
    if pads < wanted:
        conn.executemany(
            "INSERT INTO fts (rowid, title, symbols, body) VALUES (?, '', '', '')",
            [(-(i + 1),) for i in range(pads, wanted)],
        )
    elif pads > wanted:
        # Exactly as many pads as a fresh build of the same chunks has: the statistics BM25
        # uses (row count, average length) and so the rankings equal a fresh build's.
        conn.execute("DELETE FROM fts WHERE rowid < ?", (-wanted,))
    files = int(conn.execute("SELECT count(*) FROM paths WHERE path != ''").fetchone()[0])
    path_pads = int(conn.execute("SELECT count(*) FROM paths WHERE path = ''").fetchone()[0])
    if path_pads != files + 1:
        conn.execute("DELETE FROM paths WHERE path = ''")
        conn.executemany(
            "INSERT INTO paths (path, demoted, terms) VALUES ('', 0, '')", [()] * (files + 1)
        )


def _like_literal(text: str) -> str:
    """``text`` as a LIKE pattern matching itself (with ``ESCAPE '\\'``)."""

    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_query(terms: Sequence[str]) -> str:
    """Any of the terms (OR); BM25 rewards documents holding more and rarer ones."""

    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


_quote = json.encoder.encode_basestring  # a str as a JSON string, non-ASCII kept (C)


def _json_strings(values: tuple[str, ...]) -> str:
    """``json.dumps(list(values), ensure_ascii=False)`` without the encoder's machinery."""

    return "[" + ", ".join(map(_quote, values)) + "]"


def encode_rows(docs: Iterable[IndexDoc]) -> tuple[tuple[object, ...], ...]:
    """Documents as ``IndexWriter.add_encoded`` takes them (a build worker encodes its
    files' documents): per document the ``chunks`` row without its rowid (14 values), the
    three FTS fields, then the path's terms."""

    dumps = _json_strings
    return tuple(
        (
            c.id,
            c.path,
            c.kind,
            c.title,
            dumps(c.title_path),
            c.line_start,
            c.line_end,
            c.sha256,
            c.token_est,
            int(c.meta),
            dumps(c.symbols),
            doc.preview,
            doc.name,
            int(doc.demoted),
            doc.title_terms,
            doc.symbol_terms,
            doc.body_terms,
            doc.path_terms,
        )
        for doc in docs
        for c in (doc.chunk,)
    )


class _Rows:
    """Documents to rows, ``INSERT_BATCH`` at a time, each batch three ``executemany``
    calls: one ``paths`` row per new file, the chunk rows with consecutive rowids, the FTS
    rows with the same rowids."""

    def __init__(self, conn: sqlite3.Connection, rowid: int, pad: bool = False) -> None:
        self._conn = conn
        self._rowid = rowid
        # A new index (``pad``) gets its FTS pads (``pad_rows``) a batch at a time, as the
        # documents come, so the build's commit adds one instead of one per chunk.
        self._pad = pad
        self._pads = 0
        self._seen: set[object] = set()
        self._paths: list[tuple[object, ...]] = []
        self._chunks: list[tuple[object, ...]] = []
        self._fts: list[tuple[object, ...]] = []

    def add(self, docs: Iterable[IndexDoc]) -> None:
        self.add_encoded(encode_rows(docs))

    def add_encoded(self, rows: Iterable[tuple[object, ...]]) -> None:
        seen, paths, chunks, fts = self._seen, self._paths, self._chunks, self._fts
        for row in rows:
            self._rowid += 1
            rowid = self._rowid
            path = row[1]
            if path not in seen:
                seen.add(path)
                paths.append((path, row[13], row[17]))
            chunks.append((rowid, *row[:14]))
            fts.append((rowid, row[14], row[15], row[16]))
            if len(chunks) >= INSERT_BATCH:
                self.flush()

    def flush(self) -> None:
        conn = self._conn
        conn.executemany("INSERT INTO paths (path, demoted, terms) VALUES (?, ?, ?)", self._paths)
        conn.executemany(
            "INSERT INTO chunks (rowid, id, path, kind, title, title_path, line_start, "
            "line_end, sha256, token_est, meta, symbols, preview, name, demoted) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            self._chunks,
        )
        conn.executemany(
            "INSERT INTO fts (rowid, title, symbols, body) VALUES (?,?,?,?)", self._fts
        )
        if self._pad and self._fts:
            first, self._pads = self._pads, self._pads + len(self._fts)
            conn.executemany(
                "INSERT INTO fts (rowid, title, symbols, body) VALUES (?, '', '', '')",
                [(-(i + 1),) for i in range(first, self._pads)],
            )
        self._paths.clear()
        self._chunks.clear()
        self._fts.clear()


class _Writer(IndexWriter):
    """A new index file written aside in one transaction as documents come; ``commit``
    adds the pads and the state and renames it over the index."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._tmp = temp_path(path)
        self._conn: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()
            conn = self._conn = sqlite3.connect(self._tmp, isolation_level=None)
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN")
        except (sqlite3.DatabaseError, OSError) as e:
            self.close()
            raise _write_failed(e) from e
        self._rows = _Rows(conn, 0, pad=True)

    def add(self, docs: Sequence[IndexDoc]) -> None:
        self.add_encoded(encode_rows(docs))

    def add_encoded(self, rows: Sequence[tuple[object, ...]]) -> None:
        try:
            self._rows.add_encoded(rows)
        except (sqlite3.DatabaseError, OSError) as e:
            raise _write_failed(e) from e

    def commit(self, info: IndexInfo, state: PackState) -> None:
        conn = self._conn
        assert conn is not None, "commit after close"
        try:
            self._rows.flush()
            pad_rows(conn)
            SqliteSearchIndex._write_state(conn, info, state)
            conn.execute("COMMIT")
            conn.execute("PRAGMA synchronous = FULL")
            conn.close()
            self._conn = None
            fault_point("index-written")
            os.replace(self._tmp, self._path)
        except (sqlite3.DatabaseError, OSError) as e:
            raise _write_failed(e) from e

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        with contextlib.suppress(OSError):
            self._tmp.unlink()


def _write_failed(error: Exception) -> IndexWriteFailed:
    return IndexWriteFailed(
        f"could not write the search index ({_why(error)}); the previous pack is kept"
    )


def _ensure_pow(conn: sqlite3.Connection) -> None:
    """SQLite's math functions are a compile-time option some builds leave out: the
    ranking's ``pow`` is then Python's."""

    try:
        conn.execute("SELECT pow(2.0, 0.5)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("pow", 2, math.pow, deterministic=True)


class SqliteSearchIndex(SearchIndex):
    def __init__(self, root: Path) -> None:
        self.path = Path(root) / "_ctx" / INDEX_FILE
        self._conn: sqlite3.Connection | None = None
        self._file_id = (0, 0)
        # One connection shared by every thread of the process, one statement at a time.
        self._lock = threading.RLock()
        # The recorded file and directory rows, kept while the database is unchanged (a
        # long-lived process asks for them on every search): (connection, data_version).
        self._stamps_key: tuple[sqlite3.Connection, int] | None = None
        self._stamps: tuple[list[tuple[str, int, int]], list[tuple[str, int]]] = ([], [])

    # ---- connections ---------------------------------------------------------------------

    def _db(self, reopen_if_replaced: bool = False) -> sqlite3.Connection:
        if self._conn is not None and reopen_if_replaced:
            try:
                st = self.path.stat()
                if (st.st_dev, st.st_ino) != self._file_id:
                    self.close()  # a build replaced the file: read the new one
            except OSError:
                self.close()
        if self._conn is None:
            try:
                st = self.path.stat()
            except FileNotFoundError as e:
                raise PackMissing("no search index, run ctx build") from e
            try:
                conn = sqlite3.connect(self.path, check_same_thread=False)
            except sqlite3.DatabaseError as e:
                raise PackCorrupt("pack index is corrupt, run ctx build") from e
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.DatabaseError as e:
                conn.close()
                raise PackCorrupt("pack index is corrupt, run ctx build") from e
            if row is None or str(row[0]) != INDEX_SCHEMA:
                conn.close()
                raise PackCorrupt(
                    "the search index was built by another version of trifecta, run ctx build"
                )
            _ensure_pow(conn)
            self._conn = conn
            self._file_id = (st.st_dev, st.st_ino)
        return self._conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db()
            except (sqlite3.DatabaseError, ValueError, TypeError) as e:
                # SQLite's own errors, and rows whose values have the wrong types
                raise PackCorrupt("pack index is corrupt, run ctx build") from e

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ---- writes --------------------------------------------------------------------------

    def replace(self, info: IndexInfo, docs: Sequence[IndexDoc], state: PackState) -> None:
        writer = self.writer()
        try:
            writer.add(docs)
            writer.commit(info, state)
        finally:
            writer.close()

    def writer(self) -> _Writer:
        with self._lock:
            self._stamps_key = None
            self.close()
        return _Writer(self.path)

    def update(
        self,
        info: IndexInfo,
        remove_paths: Sequence[str],
        docs: Sequence[IndexDoc],
        state: PackState,
    ) -> None:
        with self._lock:
            self._stamps_key = None  # this connection's own commits leave data_version as is
            self._update(info, remove_paths, docs, state)

    def _update(
        self,
        info: IndexInfo,
        remove_paths: Sequence[str],
        docs: Sequence[IndexDoc],
        state: PackState,
    ) -> None:
        conn = self._db()
        try:
            with conn:  # one transaction: rolled back as a whole on any error
                for path in remove_paths:
                    rows = conn.execute(
                        "SELECT rowid FROM chunks WHERE path = ?", (path,)
                    ).fetchall()
                    conn.executemany("DELETE FROM fts WHERE rowid = ?", rows)
                    conn.execute("DELETE FROM chunks WHERE path = ?", (path,))
                    conn.execute("DELETE FROM paths WHERE path = ?", (path,))
                self._insert(conn, docs)
                pad_rows(conn)
                self._write_state(conn, info, state)
                fault_point("index-written")
        except (sqlite3.DatabaseError, OSError) as e:
            raise IndexWriteFailed(
                f"could not update the search index ({_why(e)}); the previous pack is kept"
            ) from e

    @staticmethod
    def _insert(conn: sqlite3.Connection, docs: Iterable[IndexDoc]) -> None:
        """The documents, with rowids after the current largest (in the caller's
        transaction)."""

        rows = _Rows(
            conn, int(conn.execute("SELECT coalesce(max(rowid), 0) FROM chunks").fetchone()[0])
        )
        rows.add(docs)
        rows.flush()

    @staticmethod
    def _write_state(conn: sqlite3.Connection, info: IndexInfo, state: PackState) -> None:
        for table in ("files", "dirs", "skipped", "meta"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany(
            "INSERT INTO files VALUES (?,?,?,?,?,?)",
            [
                (f.path, f.size, f.mtime_ns, f.sha256, int(f.meta), int(f.lossy))
                for f in state.files
            ],
        )
        conn.executemany(
            "INSERT INTO dirs VALUES (?,?)", [(d.path, d.mtime_ns) for d in state.directories]
        )
        conn.executemany(
            "INSERT INTO skipped VALUES (?,?)", [(s.path, s.reason) for s in state.skipped]
        )
        count = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        conn.executemany(
            "INSERT INTO meta VALUES (?,?)",
            [
                ("schema", INDEX_SCHEMA),
                ("pack_sha", info.pack_sha),
                ("pack_size", str(info.pack_size)),
                ("pack_mtime_ns", str(info.pack_mtime_ns)),
                ("chunk_count", str(count)),
                ("tokens", str(info.tokens)),
                ("warnings", json.dumps(list(state.warnings), ensure_ascii=False)),
            ],
        )

    # ---- reads ---------------------------------------------------------------------------

    def path_scores(self, terms: Sequence[str], ranking: Ranking | None = None) -> dict[str, float]:
        if not terms:
            return {}
        demote = (ranking or Ranking()).demote
        sql = (
            "SELECT path, round(-bm25(paths) * (CASE WHEN demoted THEN ? ELSE 1.0 END), "
            f"{SCORE_DIGITS}) FROM paths WHERE paths MATCH ?"
        )
        with self._reading() as conn:
            rows = conn.execute(sql, (demote, fts_query(terms))).fetchall()
            return {str(r[0]): float(r[1]) for r in rows}

    def search(
        self, terms: Sequence[str], limit: int, ranking: Ranking | None = None
    ) -> list[Candidate]:
        if not terms:
            return []
        ranking = ranking or Ranking()
        weights = ", ".join(str(w) for w in WEIGHTS)
        # Two steps: FTS5 alone ranks every match by BM25 (the costly part, in C), then only
        # the best PRESELECT rows meet the chunks table for the ranking's factors.
        sql = (
            f"WITH top AS (SELECT rowid AS r, bm25(fts, {weights}) AS b FROM fts "
            "WHERE fts MATCH ? ORDER BY b LIMIT ?) "
            "SELECT c.id, c.path, round(-top.b"
            " * (CASE WHEN c.demoted THEN ? ELSE 1.0 END)"
            " * (CASE WHEN c.kind IN ('section', 'document') THEN ? ELSE 1.0 END)"
            " * (CASE WHEN c.name IN (SELECT value FROM json_each(?)) THEN ? ELSE 1.0 END)"
            f" * pow(max(c.token_est, {LENGTH_FLOOR}) / {LENGTH_PIVOT}, ?)"
            f", {SCORE_DIGITS}) AS score "
            "FROM top JOIN chunks c ON c.rowid = top.r "
            "ORDER BY score DESC, c.id ASC LIMIT ?"
        )
        params = (
            fts_query(terms),
            max(PRESELECT, limit),
            ranking.demote,
            ranking.prose,
            json.dumps(list(ranking.names)),
            ranking.defines,
            ranking.length,
            limit,
        )
        with self._reading() as conn:
            rows = conn.execute(sql, params).fetchall()
            return [Candidate(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    def hits(self, scored: Sequence[tuple[str, float]]) -> list[IndexHit]:
        if not scored:
            return []
        ids = [chunk_id for chunk_id, _ in scored]
        found: dict[str, IndexHit] = {}
        with self._reading() as conn:
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                marks = ",".join("?" * len(batch))
                for row in conn.execute(
                    f"SELECT {_CHUNK_COLUMNS}, c.preview FROM chunks c WHERE c.id IN ({marks})",
                    batch,
                ):
                    found[str(row[0])] = IndexHit(_chunk(row), 0.0, str(row[11]))
        return [
            IndexHit(found[i].chunk, score, found[i].preview) for i, score in scored if i in found
        ]

    def check(self) -> None:
        """A sample, not a scan (a sync runs it before every update): the chunk rows at
        ``CHECK_POINTS`` evenly spaced rowids (the first and the last among them) have
        integers where integers belong and lists that look like JSON lists, and the
        full-text table answers (``PackCorrupt`` otherwise). Damage to a whole table (an
        edit, a foreign writer, a truncated file) shows there; one damaged row elsewhere
        is reported where it is read (``chunks``, ``hits``) and by ``ctx validate``,
        which reads every row."""

        with self._reading() as conn:
            low, high = conn.execute("SELECT min(rowid), max(rowid) FROM chunks").fetchone()
            if low is not None and high is not None:
                points = {
                    int(low) + (int(high) - int(low)) * i // (CHECK_POINTS - 1)
                    for i in range(CHECK_POINTS)
                }
                for point in sorted(points):
                    bad = conn.execute(
                        "SELECT typeof(line_start) != 'integer' "
                        "OR typeof(line_end) != 'integer' OR typeof(token_est) != 'integer' "
                        "OR substr(title_path, 1, 1) != '[' OR substr(title_path, -1) != ']' "
                        "OR substr(symbols, 1, 1) != '[' OR substr(symbols, -1) != ']' "
                        "FROM chunks WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                        (point,),
                    ).fetchone()
                    if bad is not None and bad[0]:
                        raise PackCorrupt("pack index is corrupt (a chunk row), run ctx build")
        self.count_matches(["trifecta"])

    def count_matches(self, terms: Sequence[str], ids: Sequence[str] | None = None) -> int:
        if not terms or (ids is not None and not ids):
            return 0
        with self._reading() as conn:
            if ids is None:
                row = conn.execute(
                    "SELECT count(*) FROM fts WHERE fts MATCH ?", (fts_query(terms),)
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT count(*) FROM fts WHERE fts MATCH ? AND rowid IN "
                    "(SELECT rowid FROM chunks WHERE id IN (SELECT value FROM json_each(?)))",
                    (fts_query(terms), json.dumps(list(ids))),
                ).fetchone()
        return int(row[0])

    def files_named(self, names: Sequence[str]) -> list[str]:
        if not names:
            return []
        wanted = set(names)
        found: set[str] = set()
        with self._reading() as conn:
            if not all(n.isascii() for n in names):  # SQLite folds ASCII letters only
                rows = conn.execute("SELECT path FROM files").fetchall()
            else:
                # LIKE compares ASCII letters case-insensitively, in C (a scan of the file
                # rows, ~1 ms per 10,000); a name's own "%", "_" and "\\" are escaped; at
                # most FILES_NAMED_BATCH names a statement (SQLite bounds an expression's
                # depth)
                rows = []
                ordered = sorted(wanted)
                for start in range(0, len(ordered), FILES_NAMED_BATCH):
                    batch = ordered[start : start + FILES_NAMED_BATCH]
                    patterns = [
                        p for n in batch for p in (_like_literal(n), "%/" + _like_literal(n))
                    ]
                    where = " OR ".join(["path LIKE ? ESCAPE '\\'"] * len(patterns))
                    rows += conn.execute(
                        f"SELECT path FROM files WHERE {where}", patterns
                    ).fetchall()
        for (path,) in rows:
            if str(path).rpartition("/")[2].lower() in wanted:
                found.add(str(path))
        return sorted(found)

    def outline_chunks(self, paths: Sequence[str]) -> dict[str, str]:
        if not paths:
            return {}
        sql = (
            "SELECT path, id FROM chunks WHERE path IN (SELECT value FROM json_each(?)) "
            "ORDER BY path, kind NOT IN ('module', 'document'), line_start, rowid"
        )
        out: dict[str, str] = {}
        with self._reading() as conn:
            for path, chunk_id in conn.execute(sql, (json.dumps(list(paths)),)):
                out.setdefault(str(path), str(chunk_id))
        return out

    def chunks(self, ids: Sequence[str]) -> list[PackChunk]:
        found: dict[str, PackChunk] = {}
        with self._reading() as conn:
            for start in range(0, len(ids), 500):
                batch = list(ids[start : start + 500])
                marks = ",".join("?" * len(batch))
                for row in conn.execute(
                    f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.id IN ({marks})", batch
                ):
                    chunk = _chunk(row)
                    found[chunk.id] = chunk
        return [found[i] for i in ids if i in found]

    def chunk_ids(self) -> list[str]:
        with self._reading() as conn:
            return [str(r[0]) for r in conn.execute("SELECT id FROM chunks ORDER BY rowid")]

    def state(self) -> PackState:
        with self._reading() as conn:
            files = tuple(
                SourceFile(
                    str(r[0]),
                    _strict_int(r[1]),
                    _strict_int(r[2]),
                    str(r[3]),
                    bool(r[4]),
                    bool(r[5]),
                )
                for r in conn.execute("SELECT * FROM files ORDER BY path")
            )
            dirs = tuple(
                DirStamp(str(r[0]), _strict_int(r[1]))
                for r in conn.execute("SELECT * FROM dirs ORDER BY path")
            )
            skipped = tuple(
                SkippedFile(str(r[0]), str(r[1]))
                for r in conn.execute("SELECT * FROM skipped ORDER BY path")
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'warnings'").fetchone()
        warnings = tuple(str(w) for w in json.loads(row[0])) if row else ()
        return PackState(files, dirs, skipped, warnings)

    def file_stamps(self, paths: Collection[str] | None = None) -> list[tuple[str, int, int, str]]:
        sql = "SELECT path, size, mtime_ns, sha256 FROM files"
        with self._reading() as conn:
            if paths is None:
                rows = conn.execute(f"{sql} ORDER BY path").fetchall()
            else:
                wanted = sorted(set(paths))
                rows = []
                for start in range(0, len(wanted), 500):
                    batch = wanted[start : start + 500]
                    marks = ",".join("?" * len(batch))
                    rows += conn.execute(f"{sql} WHERE path IN ({marks})", batch).fetchall()
                rows.sort()
        _check_file_rows(rows)
        return rows

    def file_stats(self) -> list[tuple[str, int, int]]:
        with self._reading() as conn:
            return self._recorded(conn)[0]

    def dir_stamps(self) -> list[tuple[str, int]]:
        with self._reading() as conn:
            return self._recorded(conn)[1]

    def _recorded(
        self, conn: sqlite3.Connection
    ) -> tuple[list[tuple[str, int, int]], list[tuple[str, int]]]:
        """All file stats and directory rows, read again only when the database changed
        since (``PRAGMA data_version`` moves on another connection's commit; this object's
        own writes clear the cache). Callers get copies (the lists are theirs to keep).
        No hashes: the sha256 column is as large as the rest together, and a freshness
        check needs only those of the files that moved."""

        (version,) = conn.execute("PRAGMA data_version").fetchone()
        if self._stamps_key != (conn, version):
            files = conn.execute("SELECT path, size, mtime_ns FROM files ORDER BY path").fetchall()
            dirs = conn.execute("SELECT path, mtime_ns FROM dirs ORDER BY path").fetchall()
            for row in files:
                if not (type(row[0]) is str and type(row[1]) is type(row[2]) is int):
                    raise PackCorrupt("pack index is corrupt, run ctx build")
            for row in dirs:
                if not (type(row[0]) is str and type(row[1]) is int):
                    raise PackCorrupt("pack index is corrupt, run ctx build")
            self._stamps_key, self._stamps = (conn, version), (files, dirs)
        return list(self._stamps[0]), list(self._stamps[1])

    def info(self) -> IndexInfo:
        """Re-opens the file first if a build replaced it since the last call."""

        try:
            with self._lock:
                conn = self._db(reopen_if_replaced=True)
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as e:
            raise PackCorrupt("pack index is corrupt, run ctx build") from e
        try:
            return IndexInfo(
                str(meta["pack_sha"]),
                int(meta["pack_size"]),
                int(meta["pack_mtime_ns"]),
                int(meta["chunk_count"]),
                int(meta.get("tokens", 0)),
            )
        except (KeyError, ValueError, TypeError) as e:
            raise PackCorrupt("pack index is corrupt, run ctx build") from e

    def kinds(self) -> dict[str, tuple[int, int]]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT kind, count(*), coalesce(sum(token_est), 0) FROM chunks GROUP BY kind"
            ).fetchall()
        return {str(kind): (int(n), int(tokens)) for kind, n, tokens in rows}

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0
