"""``JsonPackStore``: the pack as one JSON file, replaced atomically under an flock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from trifecta.adapters.regular_files import read_regular
from trifecta.adapters.tempfiles import fault_point, pending, sweep, temp_path
from trifecta.domain.errors import (
    LockTimeout,
    PackCorrupt,
    PackMissing,
    PackWriteFailed,
    ReadOnlyState,
    TrifectaError,
)
from trifecta.domain.packs import (
    PACK_SCHEMA_VERSION,
    ChunkPart,
    KeptChunks,
    LoadedPack,
    Pack,
    PackChunk,
    StoredPackFacts,
    pack_from_dict,
    pack_to_dict,
    patched_chunks,
)
from trifecta.domain.ports import BeforeCommit, PackStore, PackWriter, StoredPack
from trifecta.domain.records import replace

PACK_FILE = "context_pack.json"
LOCK_FILE = ".context_pack.lock"
POLL_S = 0.02


WRITE_BUFFER = 1 << 20
SLICE = 2000  # list items encoded per call


class _Chunks(list[Any]):
    """The pack's chunk list for ``_write_streaming``: its JSON form made a slice at a
    time (``pack_to_dict`` of a pack holding only that slice), never all at once."""

    def __init__(self, pack: Pack) -> None:
        super().__init__()
        self.pack = pack

    def __len__(self) -> int:
        return len(self.pack.chunks)

    def slice_json(self, start: int, stop: int) -> list[Any]:
        part = replace(
            self.pack, chunks=self.pack.chunks[start:stop], source_files=(), directories=()
        )
        chunks: list[Any] = pack_to_dict(part)["chunks"]
        return chunks


def _document(pack: Pack) -> dict[str, Any]:
    """``pack_to_dict(pack)`` with the chunk list left lazy (the bulk of a pack)."""

    head = pack_to_dict(replace(pack, chunks=()))
    head["chunks"] = _Chunks(pack)
    return head


class _Pieces(list[Any]):
    """A chunk list given as JSON pieces, each the items of one or more files without the
    brackets (``b""`` for none): written joined by commas inside one pair of brackets."""

    def __init__(self, pieces: list[bytes | memoryview]) -> None:
        super().__init__()
        self.pieces = [p for p in pieces if p]


class _Spool(list[Any]):
    """A chunk list whose items were written, comma-separated, to ``handle``."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__()
        self.handle = handle


_CHUNKS_KEY = b',"chunks":['
_AFTER_CHUNKS = b'],"skipped":['
# A chunk's path field, and the start of its object. Inside a JSON string every '"' is
# escaped, so '","path":"' and '{"id":"' only ever appear as the chunk's own keys.
_STRING = rb'[^"\\]*(?:\\.[^"\\]*)*'  # a JSON string's body (unrolled: fast)
_PATH_FIELD = re.compile(rb'","path":"(' + _STRING + rb')"')


class _JsonStored(StoredPackFacts):
    """The stored pack's bytes with where each file's chunks are (``StoredPack``): a sync
    reads the head and the few files it needs, and copies the other files' chunk bytes."""

    def __init__(
        self, data: bytes, sha: str, head: Pack, spans: dict[str, tuple[int, int, int]]
    ) -> None:
        self.data = data
        self._sha = sha
        self._head = head
        self._spans = spans  # path -> (start, end, count): data[start:end], no brackets
        self._counts = {p: span[2] for p, span in spans.items()}

    def span(self, path: str) -> bytes:
        found = self._spans.get(path)
        return b"" if found is None else self.data[found[0] : found[1]]

    def bounds(self, path: str) -> tuple[int, int] | None:
        """Where ``span(path)`` is in ``data`` (None: the file has no chunks)."""

        found = self._spans.get(path)
        return None if found is None or found[0] == found[1] else (found[0], found[1])

    def chunks_of(self, paths: Collection[str]) -> list[PackChunk]:
        wanted = sorted((self._spans[p][0], p) for p in set(paths) if p in self._spans)
        if not wanted:
            return []
        items = b",".join(self.span(p) for _, p in wanted)
        try:
            records = json.loads(b"[" + items + b"]")
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PackCorrupt("pack is corrupt, run ctx build") from e
        document = {"schema_version": PACK_SCHEMA_VERSION, "estimator": "", "chunks": records}
        return list(pack_from_dict({**document, "source_files": []}).chunks)


class _Patched(StoredPackFacts):
    """The pack a patch just wrote (``StoredPack``), from what wrote it: the new chunks
    in memory, the kept ones still in the base's bytes (so the sync's validation does not
    read the pack again)."""

    def __init__(self, base: _JsonStored, head: Pack, sha: str, parts: Sequence[ChunkPart]) -> None:
        self._base = base
        self._head = head
        self._sha = sha
        self._new: dict[str, tuple[PackChunk, ...]] = {}
        counts: dict[str, int] = {}
        for part in parts:
            if isinstance(part, KeptChunks):
                if part.path in base.counts:
                    counts[part.path] = base.counts[part.path]
            elif part:
                self._new[part[0].path] = part
                counts[part[0].path] = len(part)
        self._counts = counts

    @property
    def base(self) -> _JsonStored:
        return self._base

    def resolve(self, parts: Sequence[ChunkPart]) -> list[ChunkPart]:
        """``parts`` for a patch of this patch's base: a kept file this patch wrote anew
        is given by its chunks (so syncs in one process never chain patches)."""

        return [
            self._new[p.path] if isinstance(p, KeptChunks) and p.path in self._new else p
            for p in parts
        ]

    def chunks_of(self, paths: Collection[str]) -> list[PackChunk]:
        wanted = set(paths)
        kept: dict[str, list[PackChunk]] = {}
        for chunk in self._base.chunks_of(wanted - self._new.keys()):
            kept.setdefault(chunk.path, []).append(chunk)
        out: list[PackChunk] = []
        for path in self._counts:  # in pack order
            if path in wanted:
                out.extend(self._new[path] if path in self._new else kept.get(path, []))
        return out


_PATH_KEY = b'","path":"'
_CHUNK_START = b'{"id":"'
_quote = json.encoder.encode_basestring  # a str as the writer's JSON string (C)
MAX_MISSES = 8  # files without chunks looked for before the one-pass scan takes over


def _layout(data: bytes, sha: str) -> _JsonStored | None:
    """Where each file's chunks are in a pack this store wrote (a file's chunks are
    contiguous, files in the head's order); None when the bytes do not have that shape.
    The head is parsed first; then one ``find`` per file gives where its chunks start and
    one ``count`` per file how many there are (every search in C); the counts must add up
    to every chunk's path field. A pack with many files without chunks (a file is looked
    for to the end) takes ``_layout_scan`` instead."""

    key = data.find(_CHUNKS_KEY)
    end = data.rfind(_AFTER_CHUNKS)
    begin = key + len(_CHUNKS_KEY)
    if key < 0 or end < begin:
        return None
    try:
        head = pack_from_dict(json.loads(data[:key] + b',"chunks":[]' + data[end + 1 :]))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, PackCorrupt):
        return None
    runs: list[tuple[str, bytes, int]] = []  # path, its path field, start of its first chunk
    at = begin
    misses = 0
    for record in head.source_files:
        try:
            needle = _PATH_KEY + _quote(record.path)[1:].encode("utf-8")
        except UnicodeEncodeError:
            return None
        found = data.find(needle, at, end)
        if found < 0:
            misses += 1
            if misses > MAX_MISSES:
                return _layout_scan(data, sha, head, begin, end)
            continue
        start = data.rfind(_CHUNK_START, at, found)
        if start < 0 or (start != begin and data[start - 1 : start] != b","):
            return None
        if not runs and start != begin:
            return None  # chunks before the first file's: not this store's layout
        runs.append((record.path, needle, start))
        at = found + 1
    if not runs:
        return _JsonStored(data, sha, head, {}) if end == begin else None
    spans: dict[str, tuple[int, int, int]] = {}
    total = 0
    for i, (path, needle, start) in enumerate(runs):
        stop = runs[i + 1][2] - 1 if i + 1 < len(runs) else end
        count = data.count(needle, start, stop)
        spans[path] = (start, stop, count)
        total += count
    if total != data.count(_PATH_KEY, begin, end):
        return None  # a chunk inside another file's run: not this store's layout
    return _JsonStored(data, sha, head, spans)


def _layout_scan(data: bytes, sha: str, head: Pack, begin: int, end: int) -> _JsonStored | None:
    """``_layout`` by one ``findall`` over every chunk's path (then one search per file)."""

    runs: list[tuple[str, int, int]] = []  # path, start of its first chunk, chunk count
    seen: set[str] = set()
    at = begin
    for raw, group in itertools.groupby(_PATH_FIELD.findall(data, begin, end)):
        count = len(list(group))
        found = data.find(_PATH_KEY + raw + b'"', at, end)
        start = data.rfind(_CHUNK_START, at, found) if found >= 0 else -1
        try:
            path = raw.decode("utf-8") if b"\\" not in raw else json.loads(b'"' + raw + b'"')
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if start < 0 or path in seen:
            return None  # not this store's layout, or a file's chunks not contiguous
        seen.add(path)
        runs.append((path, start, count))
        at = found + 1
    if (runs and runs[0][1] != begin) or (not runs and end != begin):
        return None
    spans: dict[str, tuple[int, int, int]] = {}
    for i, (path, start, count) in enumerate(runs):
        stop = runs[i + 1][1] - 1 if i + 1 < len(runs) else end
        if i + 1 < len(runs) and data[stop : stop + 1] != b",":
            return None
        spans[path] = (start, stop, count)
    return _JsonStored(data, sha, head, spans)


def _write_streaming(document: dict[str, Any], handle: BinaryIO) -> str:
    """Write ``document`` as ``json.dumps(document, ensure_ascii=False, separators=(",",
    ":"))`` would, one list item at a time (never the whole text in memory); the sha256
    of the bytes written."""

    digest = hashlib.sha256()
    pending: list[bytes | memoryview] = []
    size = 0

    def put(text: str | bytes | memoryview) -> None:
        nonlocal size
        data = text.encode("utf-8") if isinstance(text, str) else text
        pending.append(data)
        size += len(data)
        if size >= WRITE_BUFFER:
            flush()

    def flush() -> None:
        nonlocal size
        block = pending[0] if len(pending) == 1 else b"".join(pending)
        digest.update(block)
        handle.write(block)
        pending.clear()
        size = 0

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    put("{")
    for n, (key, value) in enumerate(document.items()):
        put(("," if n else "") + encode(key) + ":")
        if isinstance(value, _Spool):
            put("[")
            value.handle.seek(0)
            while block := value.handle.read(WRITE_BUFFER):
                put(block)
            put("]")
        elif isinstance(value, _Pieces):
            put("[")
            for i, piece in enumerate(value.pieces):
                if i:
                    put(",")
                put(piece)
            put("]")
        elif isinstance(value, _Chunks) or (isinstance(value, list) and len(value) > SLICE):
            # Slices through the C encoder: "[a,b]" + "[c,d]" -> "[a,b" "," "c,d]".
            last = max(0, (len(value) - 1) // SLICE)
            for i in range(last + 1):
                start, stop = i * SLICE, (i + 1) * SLICE
                items = (
                    value.slice_json(start, stop)
                    if isinstance(value, _Chunks)
                    else value[start:stop]
                )
                text = encode(items)
                put(("[" if i == 0 else ",") + text[1:-1] + ("]" if i == last else ""))
        else:
            put(encode(value))
    put("}")
    flush()
    return digest.hexdigest()


CHUNKS_SPOOL = "context_pack.chunks"
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_chunks(chunks: Sequence[PackChunk]) -> bytes:
    """The chunks as the pack lists them, without the brackets (``b""`` for none): what
    ``PackWriter.add_encoded`` takes (a build worker encodes its files' chunks)."""

    if not chunks:
        return b""
    items = pack_to_dict(Pack(source_files=(), chunks=tuple(chunks)))["chunks"]
    return _ENCODE(items)[1:-1].encode("utf-8")


class _JsonWriter(PackWriter):
    """The new pack's chunks encoded as they come into a temporary file of ``_ctx``
    (swept like every other), then ``commit`` writes the pack around them."""

    def __init__(self, store: JsonPackStore) -> None:
        self._store = store
        self._spool = temp_path(store.ctx_dir / CHUNKS_SPOOL)
        self._first = True
        try:
            store.ctx_dir.mkdir(parents=True, exist_ok=True)
            self._handle: BinaryIO | None = self._spool.open("w+b")
        except OSError as e:
            raise write_failed("pack", e) from e

    def add(self, chunks: Sequence[PackChunk]) -> None:
        self.add_encoded(encode_chunks(chunks))

    def add_encoded(self, data: bytes) -> None:
        if not data:
            return
        assert self._handle is not None, "add after close"
        try:
            if not self._first:
                self._handle.write(b",")
            self._handle.write(data)
        except OSError as e:
            raise write_failed("pack", e) from e
        self._first = False

    def commit(self, head: Pack, before_commit: BeforeCommit | None = None) -> str:
        assert self._handle is not None, "commit after close"
        document = pack_to_dict(replace(head, chunks=()))
        document["chunks"] = _Spool(self._handle)
        return self._store.write_document(document, before_commit)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        with contextlib.suppress(OSError):
            self._spool.unlink()


class JsonPackStore(PackStore):
    def __init__(self, root: Path) -> None:
        self.ctx_dir = Path(root) / "_ctx"
        self.path = self.ctx_dir / PACK_FILE
        # The pack last loaded or saved, by file identity (inode, size, mtime): a sync
        # followed by its validation reads and parses the file once.
        self._last: tuple[tuple[int, int, int], Pack, str] | None = None
        self._stored: tuple[tuple[int, int, int], StoredPack] | None = None  # a patch's

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def load(self) -> Pack:
        return self.load_with_sha()[0]

    def _read_bytes(self) -> bytes:
        """The pack file's bytes (``PackMissing`` if absent, ``PackCorrupt`` if unreadable
        or not a regular file)."""

        try:
            return read_regular(self.path)
        except FileNotFoundError as e:
            raise PackMissing("no context pack, run ctx build") from e
        except OSError as e:
            raise PackCorrupt(f"pack is unreadable ({e.strerror}), run ctx build") from e

    def load_with_sha(self) -> tuple[Pack, str]:
        identity = self._identity()
        if self._last is not None and identity == self._last[0]:
            return self._last[1], self._last[2]
        data = self._read_bytes()
        try:
            parsed = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PackCorrupt("pack is corrupt, run ctx build") from e
        except RecursionError as e:  # "[[[[..." nested past the parser's depth
            raise PackCorrupt("pack is corrupt (nested too deeply), run ctx build") from e
        pack, sha = pack_from_dict(parsed), hashlib.sha256(data).hexdigest()
        if identity is not None:
            self._last = (identity, pack, sha)
        return pack, sha

    def writer(self) -> PackWriter:
        return _JsonWriter(self)

    def write_document(self, document: dict[str, Any], before_commit: BeforeCommit | None) -> str:
        """``save`` of a pack given as its JSON document (a writer's)."""

        return self._write(document, None, before_commit)

    def load_stored(self) -> StoredPack:
        """The head parsed, the chunks located (not parsed); a pack of another shape is
        loaded whole."""

        identity = self._identity()
        if self._stored is not None and self._stored[0] == identity:
            return self._stored[1]
        if self._last is not None and self._last[0] == identity:
            return LoadedPack(self._last[1], self._last[2])
        data = self._read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        stored = _layout(data, sha)
        if stored is not None:
            return stored
        return LoadedPack(*self.load_with_sha())

    def save_patch(
        self,
        base: StoredPack,
        head: Pack,
        parts: Sequence[ChunkPart],
        before_commit: BeforeCommit | None = None,
    ) -> str:
        if isinstance(base, _Patched):  # a second sync in this process: patch the base
            parts, base = base.resolve(parts), base.base
        if not isinstance(base, _JsonStored):
            kept = base.chunks_of({p.path for p in parts if isinstance(p, KeptChunks)})
            return self.save(replace(head, chunks=patched_chunks(kept, parts)), before_commit)
        pieces: list[bytes | memoryview] = []
        view = memoryview(base.data)
        run: tuple[int, int] | None = None  # a run of kept files' bytes not yet put
        for part in parts:
            if isinstance(part, KeptChunks):
                span = base.bounds(part.path)
                if span is None:
                    continue
                if run is not None and span[0] == run[1] + 1:  # right after: one slice
                    run = (run[0], span[1])
                    continue
                if run is not None:
                    pieces.append(view[run[0] : run[1]])
                run = span
            elif part:
                if run is not None:
                    pieces.append(view[run[0] : run[1]])
                    run = None
                pieces.append(encode_chunks(part))
        if run is not None:
            pieces.append(view[run[0] : run[1]])
        document = pack_to_dict(replace(head, chunks=()))
        document["chunks"] = _Pieces(pieces)
        sha = self._write(document, None, before_commit)
        identity = self._identity()
        if identity is not None:
            self._stored = (identity, _Patched(base, head, sha, parts))
        return sha

    def save(self, pack: Pack, before_commit: BeforeCommit | None = None) -> str:
        """Write aside, fsync, let ``before_commit`` (the index) see the final sha and
        stamp, then rename over the pack: os.replace keeps the inode's size and mtime."""

        return self._write(_document(pack), pack, before_commit)

    def _write(
        self, document: dict[str, Any], pack: Pack | None, before_commit: BeforeCommit | None
    ) -> str:
        self.ctx_dir.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(self.path)
        self._last = None
        self._stored = None
        try:
            with tmp.open("wb") as handle:
                sha = _write_streaming(document, handle)
                handle.flush()
                os.fsync(handle.fileno())
            fault_point("pack-written")
            if before_commit is not None:
                st = tmp.stat()
                before_commit(sha, (st.st_size, st.st_mtime_ns))
            fault_point("index-committed")
            os.replace(tmp, self.path)
            fault_point("pack-committed")
        except OSError as e:
            raise write_failed("pack", e) from e
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        identity = self._identity()
        if identity is not None and pack is not None:
            self._last = (identity, pack, sha)
        return sha

    def stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def settle(self, index_sha: str) -> bool:
        """Roll forward a commit a killed build left half-done (its pack written aside and
        fsynced, the index committed for it, the rename not done), then sweep every
        temporary file of ``_ctx`` (the caller holds the exclusive lock: no live writer)."""

        rolled = False
        for candidate in pending(self.path):
            try:
                data = candidate.read_bytes()
            except OSError:
                continue
            if index_sha and hashlib.sha256(data).hexdigest() == index_sha:
                with contextlib.suppress(OSError):
                    os.replace(candidate, self.path)
                    rolled = True
                break
        sweep(self.ctx_dir)
        return rolled

    @contextlib.contextmanager
    def lock(self, timeout_ms: int, shared: bool = False) -> Iterator[None]:
        fd = self._open_lock(shared)
        if fd is None:  # shared, and the lock cannot be opened: a read-only _ctx
            yield
            return
        deadline = time.monotonic() + timeout_ms / 1000
        operation = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            while True:
                try:
                    fcntl.flock(fd, operation | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(
                            f"another build holds the pack lock (waited {timeout_ms} ms)"
                        ) from None
                    time.sleep(POLL_S)
            if not shared:
                fault_point("lock-taken")
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _open_lock(self, shared: bool) -> int | None:
        lock_path = self.ctx_dir / LOCK_FILE
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        try:
            if not shared:
                self.ctx_dir.mkdir(parents=True, exist_ok=True)
            return os.open(lock_path, flags, 0o644)
        except OSError as e:
            if not shared:
                if e.errno in _READ_ONLY:
                    raise ReadOnlyState(
                        f"cannot write _ctx ({e.strerror}): the pack can be read, not built"
                    ) from e
                raise write_failed("pack lock", e) from e
        try:
            return os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None


_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def write_failed(what: str, error: OSError) -> TrifectaError:
    """The one-line error of a failed write: a full disk says so."""

    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return PackWriteFailed(
            f"could not write the {what}: no space left on the device; the previous pack is kept"
        )
    if error.errno in _READ_ONLY:
        return ReadOnlyState(
            f"cannot write _ctx ({error.strerror}): the pack can be read, not built"
        )
    return PackWriteFailed(
        f"could not write the {what} ({error.strerror or type(error).__name__}); "
        "the previous pack is kept"
    )
