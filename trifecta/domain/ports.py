"""Ports: what the application needs from the outside world, as ``typing.Protocol``s.

Each adapter and each fake names its port as a base class so mypy checks it where it is
defined. Paths crossing a port are segment-relative POSIX strings; lines/columns 1-based.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from trifecta.domain.model import (
    FileEntry,
    FileText,
    LspFacts,
    ReadMode,
    RepoState,
    Resolution,
    Selector,
    Skeleton,
    SkippedFile,
    SymbolLocation,
)
from trifecta.domain.packs import (
    Candidate,
    ChunkPart,
    EncodedChunks,
    IndexDoc,
    IndexHit,
    IndexInfo,
    Pack,
    PackChunk,
    PackState,
    Ranking,
)
from trifecta.domain.skeleton_codec import decode_skeleton


class Clock(Protocol):
    """Time, injected. ``monotonic_ns`` is for durations (perf_counter_ns); ``utc_iso`` is
    the wall-clock timestamp for records, ISO 8601 in UTC."""

    def monotonic_ns(self) -> int: ...

    def utc_iso(self) -> str: ...

    def epoch_s(self) -> float: ...


class SkeletonParser(Protocol):
    """Source text -> Skeleton: classes, functions, methods and constants with their real
    signatures, decorators, first docstring line and line range; never bodies.

    ``name`` is ``ast`` or ``tree_sitter``; ``version`` changes whenever the output of
    ``parse`` could change (it keys the cache). A parser that cannot parse the text raises
    ``ParseFailed``; a tolerant one returns what it could with ``partial=True``.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def parse(self, source: str, path: str) -> Skeleton: ...


class FileReader(Protocol):
    """Confined reads of the segment's files, with byte accounting per read mode.

    Promises: never reads outside the segment root (symlinks resolved first);
    ``read_text`` raises ``FileMissing``, ``PathOutsideSegment``, ``BinaryFile`` or
    ``FileTooLarge``; non-UTF-8 bytes are decoded with replacement and flagged ``lossy``.
    ``mode`` labels whose bytes these are for the per-mode counters.
    """

    def relative(self, user_path: str) -> str:
        """Map a user-given path to a segment-relative one (``""`` for the root), raising
        ``PathOutsideSegment`` if it leaves the segment (symlinks resolved). The rule:

        - an absolute path is taken as it is;
        - a path starting with ``./`` or ``../`` (or ``.``/``..`` alone) is relative to the
          current directory;
        - any other relative path is segment-relative if it exists in the segment, else
          relative to the current directory.

        The path need not exist (reading it then raises ``FileMissing``)."""
        ...

    def is_dir(self, path: str) -> bool:
        """Whether the segment-relative ``path`` is a directory of the segment (False when
        missing, a file, or a symlink leading out of the segment)."""
        ...

    def read_text(self, path: str, mode: ReadMode = ReadMode.RAW) -> FileText: ...

    def stat(self, path: str) -> FileEntry | None: ...

    def stamps(self, paths: Sequence[str]) -> list[tuple[int, int] | None]:
        """``(size, mtime_ns)`` of each path, in order, as ``stat`` gives it (None where
        ``stat`` gives None); cheaper per path (every search's freshness check). Give
        directories first, parents before children: they may then cost nothing more."""
        ...

    def list_files(
        self, include: Sequence[str], exclude: Sequence[str] = ()
    ) -> tuple[list[FileEntry], list[SkippedFile]]:
        """Files matching ``include`` globs, minus ``exclude`` globs and ``.gitignore``d
        paths, in sorted order; plus what was refused and why (symlink escapes, binary,
        too large)."""
        ...

    def bytes_read(self) -> Mapping[ReadMode, int]: ...


class LanguageServer(Protocol):
    """A language server session over one workspace (the segment).

    Lifecycle: ``start`` spawns and initializes (raising ``LanguageServerUnavailable`` if
    it cannot; a client of a server that runs elsewhere raises ``LanguageServerCold`` when
    none runs yet and ``LanguageServerTimeout`` when it does not answer within its short
    bound: busy starting pyright, or hung; ``wait_ready`` then waits, bounded); READY is
    initialized AND (first publishDiagnostics OR first successful definition). Requests
    take a deadline in ms and raise ``LanguageServerTimeout`` when it passes (after
    cancelling the request) or ``LanguageServerError`` on failure.
    ``shutdown`` always leaves no process behind. Lifecycle facts are reported to the
    listener given to ``start`` as (event_name, fields) pairs, e.g. ("lsp.ready", {...}).
    """

    def start(self, listener: Callable[[str, Mapping[str, Any]], None] | None = None) -> None: ...

    def facts(self) -> LspFacts: ...

    def crashed(self) -> bool:
        """True when a started session's process has died since (to report and replace);
        False before any start, while alive, and after ``shutdown``."""
        ...

    def wait_ready(self, timeout_ms: int) -> bool: ...

    def definition(
        self, path: str, line: int, column: int, timeout_ms: int
    ) -> list[SymbolLocation]: ...

    def document_symbols(self, path: str, timeout_ms: int) -> list[SymbolLocation]: ...

    def shutdown(self) -> None: ...


class SymbolResolver(Protocol):
    """Selector or position -> definition locations, saying who answered and why."""

    def resolve_selector(self, selector: Selector, timeout_ms: int) -> Resolution: ...

    def resolve_position(
        self, path: str, line: int, column: int, timeout_ms: int
    ) -> Resolution: ...


class TelemetrySink(Protocol):
    """Durable telemetry storage.

    Promises: ``append_events`` writes each record whole or not at all and loses none
    (records that cannot be written now are spooled and written by a later call);
    ``merge_counters`` adds deltas to the cumulative counters exactly, even with
    concurrent processes; ``write_last_run`` replaces the summary atomically;
    ``read_events`` yields every stored record, oldest first, skipping a torn final line;
    ``release`` closes whatever descriptors the sink keeps open between writes (the next
    write opens them again), so a process that opens and closes many segments holds none.
    """

    def append_events(self, records: Sequence[Mapping[str, Any]]) -> None: ...

    def merge_counters(self, deltas: Mapping[str, int]) -> dict[str, int]: ...

    def read_counters(self) -> dict[str, int]: ...

    def write_last_run(self, summary: Mapping[str, Any]) -> None: ...

    def read_last_run(self) -> dict[str, Any] | None: ...

    def read_events(self) -> Iterator[dict[str, Any]]: ...

    def health(self) -> Mapping[str, int | float]: ...

    def release(self) -> None: ...


class RepoStateReader(Protocol):
    """The git state of the segment (HEAD sha, dirty flag), for telemetry context.

    Promises: ``read`` never raises and is cheap after its first call (computed once per
    process); a segment outside git, or a broken/absent git, gives ``RepoState()``.
    """

    def read(self) -> RepoState: ...


# ---- context packs -----------------------------------------------------------------------


BeforeCommit = Callable[[str, tuple[int, int]], None]


class StoredPack(Protocol):
    """The stored pack as a sync starts from it, its chunks left where they are: ``head``
    is the pack without its chunks; ``counts`` the number of chunks of each file;
    ``chunks_of`` reads the chunks of some files only."""

    @property
    def head(self) -> Pack: ...

    @property
    def sha(self) -> str: ...

    @property
    def counts(self) -> Mapping[str, int]: ...

    def chunks_of(self, paths: Collection[str]) -> list[PackChunk]: ...


class ChunkEncoder(Protocol):
    """One file's index documents encoded for the pack store and the index a build writes
    (made by the adapters, run in a build worker; picklable)."""

    def __call__(self, docs: Sequence[IndexDoc]) -> EncodedChunks: ...


class PackWriter(Protocol):
    """A whole new pack written as its chunks come (``PackStore.writer``), in pack order:
    ``commit(head)`` (the pack without its chunks) writes it as ``save`` would have, with
    the same promises; ``close`` drops it if it was not committed."""

    def add(self, chunks: Sequence[PackChunk]) -> None: ...

    def add_encoded(self, data: bytes) -> None:
        """``add`` of chunks given as the store's ``ChunkEncoder`` made their ``pack``."""
        ...

    def commit(self, head: Pack, before_commit: BeforeCommit | None = None) -> str: ...

    def close(self) -> None: ...


class PackStore(Protocol):
    """Where a segment's context pack lives (``<segment>/_ctx/context_pack.json``).

    Promises: ``save`` replaces the pack atomically (readers see the old or the new pack,
    never a torn one) and returns its sha256; with ``before_commit`` it first writes the
    new pack aside, calls ``before_commit(sha256, (size, mtime_ns))`` with the values the
    stored pack will have, and replaces the pack only if that returns (if it raises, the
    old pack is left as it was and the error propagates); ``load`` raises ``PackMissing`` or
    ``PackCorrupt``; ``stamp`` is a cheap (size, mtime_ns) of the stored pack or None;
    ``lock`` is an exclusive, inter-process build lock that waits up to ``timeout_ms`` and
    then raises ``LockTimeout`` (``ReadOnlyState`` if the pack's directory cannot be
    written); ``lock(shared=True)`` is its read side, taken by readers that must not see a
    build half-way (validate): it waits for a build, not for other readers, and where the
    lock cannot be opened (a read-only ``_ctx``, where nobody builds) it does not lock.
    ``settle(index_sha)``, called under the exclusive lock, finishes what a build killed
    mid-commit left: a pack written aside whose sha256 is ``index_sha`` (the index already
    committed for it) is renamed into place, and every leftover temporary file is removed.
    """

    def load(self) -> Pack: ...

    def load_with_sha(self) -> tuple[Pack, str]: ...

    def save(self, pack: Pack, before_commit: BeforeCommit | None = None) -> str: ...

    def writer(self) -> PackWriter:
        """``save`` in pieces: a build adds each file's chunks as they are cut."""
        ...

    def load_stored(self) -> StoredPack:
        """The stored pack without reading its chunks (``PackMissing``/``PackCorrupt`` as
        ``load``)."""
        ...

    def save_patch(
        self,
        base: StoredPack,
        head: Pack,
        parts: Sequence[ChunkPart],
        before_commit: BeforeCommit | None = None,
    ) -> str:
        """``save`` of ``head`` whose chunks are ``parts`` in order (``KeptChunks``: those
        of ``base``, which must still be the stored pack); the same bytes ``save`` writes
        for that pack, without re-encoding the kept chunks."""
        ...

    def stamp(self) -> tuple[int, int] | None: ...

    def lock(self, timeout_ms: int, shared: bool = False) -> AbstractContextManager[None]: ...

    def settle(self, index_sha: str) -> bool: ...


class IndexWriter(Protocol):
    """A whole new index written as the documents come (``SearchIndex.writer``): nothing
    of it is seen until ``commit`` swaps it in atomically; ``close`` drops it if it was
    not committed."""

    def add(self, docs: Sequence[IndexDoc]) -> None: ...

    def add_encoded(self, rows: Sequence[tuple[object, ...]]) -> None:
        """``add`` of documents given as the index's ``ChunkEncoder`` made their ``rows``."""
        ...

    def commit(self, info: IndexInfo, state: PackState) -> None: ...

    def close(self) -> None: ...


class SearchIndex(Protocol):
    """A persistent ranked index of a pack's chunks, beside the pack.

    Promises: ``replace`` swaps in a whole new index atomically; ``update`` removes the
    chunks of ``remove_paths`` and adds ``docs`` in one transaction; ``search`` ranks with
    BM25 over the pre-tokenised fields (path, title and symbols weighted above body), never
    scanning chunk text, and returns hits ordered by score descending then id ascending
    (the score returned is the ranking score); ``chunks`` returns records in the order of
    the ids asked for, omitting unknown ids. Unreadable index files raise ``PackCorrupt``;
    a missing index raises ``PackMissing``.
    """

    def replace(self, info: IndexInfo, docs: Sequence[IndexDoc], state: PackState) -> None: ...

    def writer(self) -> IndexWriter:
        """``replace`` in pieces: a build adds each file's documents as they are cut."""
        ...

    def update(
        self,
        info: IndexInfo,
        remove_paths: Sequence[str],
        docs: Sequence[IndexDoc],
        state: PackState,
    ) -> None:
        """Remove the chunks of ``remove_paths`` and add ``docs``; ``state`` replaces the
        recorded one (it is the whole new file list)."""
        ...

    def check(self) -> None:
        """A cheap check before an update, a sample of the rows (never a scan: a sync's
        cost is proportional to its change): ``PackCorrupt`` when tables are visibly
        damaged (an index in that state is rebuilt, not updated). Every row is checked by
        ``ctx validate``, and where it is read."""
        ...

    def search(
        self, terms: Sequence[str], limit: int, ranking: Ranking | None = None
    ) -> list[Candidate]:
        """The best ``limit`` chunks holding any of ``terms``: BM25 over the chunk's own
        name, symbols and body, multiplied by ``ranking``'s factors (definition, role)."""
        ...

    def hits(self, scored: Sequence[tuple[str, float]]) -> list[IndexHit]:
        """The chunks of ``scored`` (id, score) with their previews, in that order; unknown
        ids are omitted."""
        ...

    def path_scores(self, terms: Sequence[str], ranking: Ranking | None = None) -> dict[str, float]:
        """BM25 of each file's path words against ``terms`` (files without a match are
        absent), demoted files multiplied by ``ranking.demote``."""
        ...

    def count_matches(self, terms: Sequence[str], ids: Sequence[str] | None = None) -> int:
        """How many chunks hold any of ``terms`` (only among the chunks ``ids``, when
        given)."""
        ...

    def files_named(self, names: Sequence[str]) -> list[str]:
        """The recorded files whose name (last path component) is one of ``names`` (given
        lower-case), compared case-insensitively, in path order."""
        ...

    def outline_chunks(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> the id of the file's outline chunk (its ``module`` or ``document``
        chunk, else its first), for the files of ``paths`` that have chunks."""
        ...

    def chunks(self, ids: Sequence[str]) -> list[PackChunk]: ...

    def chunk_ids(self) -> list[str]: ...

    def state(self) -> PackState: ...

    def file_stamps(self, paths: Collection[str] | None = None) -> list[tuple[str, int, int, str]]:
        """``(path, size, mtime_ns, sha256)`` of the recorded files (only those of ``paths``
        when given), in path order: ``state().files`` without building it."""
        ...

    def file_stats(self) -> list[tuple[str, int, int]]:
        """``(path, size, mtime_ns)`` of every recorded file, in path order: what a
        freshness check compares with the disk (no hashes: ``file_stamps(paths)`` gives
        those of the few files that moved)."""
        ...

    def dir_stamps(self) -> list[tuple[str, int]]:
        """``(path, mtime_ns)`` of the recorded directories, in path order."""
        ...

    def info(self) -> IndexInfo: ...

    def kinds(self) -> dict[str, tuple[int, int]]:
        """Per chunk kind (``module``, ``method``, ``section``...): how many chunks and the
        sum of their token estimates."""
        ...

    def size_bytes(self) -> int: ...


# ---- skeletons -----------------------------------------------------------------------------


class SkeletonCache(Protocol):
    """Skeletons keyed by (content sha256, parser name, parser version).

    Promises: ``get`` returns exactly what ``put`` stored under the same key, or None (a
    miss; also when the store is unreadable or busy past its bounded wait); ``put`` returns
    False and stores nothing when the value is larger than the maximum entry size (it never
    retries or loops); the total size stays under a bound, least recently used entries
    evicted first; several processes may share one cache at once.
    """

    def get(self, sha256: str, parser: str, version: str) -> Skeleton | None: ...

    def put(self, sha256: str, parser: str, version: str, skeleton: Skeleton) -> bool: ...

    def put_encoded(self, entries: Sequence[tuple[str, str, str, bytes]]) -> int:
        """``put`` of each (sha256, parser, version, value), the value already encoded by
        ``encode_skeleton`` (a build's workers encode what they parse, the build stores it
        in one write where the store allows it); how many were stored. A value that does
        not decode is never returned by ``get`` (a miss)."""

        stored = 0
        for sha256, parser, version, data in entries:
            try:
                skeleton = decode_skeleton(data)
            except ValueError:
                continue
            stored += self.put(sha256, parser, version, skeleton)
        return stored

    def stats(self) -> Mapping[str, int]:
        """``entries`` and ``bytes`` currently stored."""
        ...

    def close(self) -> None:
        """Release what the store holds open (a later call reopens it)."""
        return None


# ---- symbols -------------------------------------------------------------------------------

NameRow = tuple[str, str, str, int, int]
"""One definition, flat: (kind, name, qualname, line_start, line_end)."""

Stamp = tuple[int, int]
"""A file's (size, mtime_ns): when it is unchanged, so are its definitions."""


class NameIndexStore(Protocol):
    """Every definition of the segment by name, persisted with each file's stamp, so a
    segment-wide search by name re-reads only the files that changed and loads nothing
    it does not look up.

    Promises: never raises (an unreadable or corrupt store behaves as empty and is
    rebuilt); ``update`` applies all its changes or none; ``lookup`` answers from the last
    completed update, in a stable order (path, then line).
    """

    def stamps(self) -> dict[str, Stamp]: ...

    def update(
        self,
        changed: Mapping[str, tuple[Stamp, Sequence[NameRow]]],
        removed: Collection[str],
    ) -> None: ...

    def lookup(self, name: str) -> list[tuple[str, NameRow]]: ...


class ChangeFeed(Protocol):
    """Changes under a segment's directories as the operating system reports them, so a
    long-lived process can skip the per-file stat pass of a freshness check when nothing
    moved. Optional: where there is no such feed, every check stats every file.

    Promises: ``changed`` is True whenever anything may have changed under the armed
    directories since its previous call (it drains what was reported), and whenever the
    feed cannot be trusted (not armed, a lost watch, an overflowed queue); never raises.
    ``complete`` says whether the segment's file system reports every write as an event (a
    local disk), or whether writes made elsewhere may raise none (a network or FUSE file
    system, a virtual machine's shared folder).
    """

    @property
    def complete(self) -> bool: ...

    def arm(self, directories: Sequence[str]) -> bool: ...

    def changed(self) -> bool: ...

    def close(self) -> None: ...


class ChangeHistory(Protocol):
    """How often the repository's recent commits touched each file of a segment: the
    ranking's prior that the code a task is about is code that has been changing.

    Promises: ``recent_changes`` maps segment-relative paths to the number of the last
    commits (no merges) that changed them, as ``record`` last saw them; it is empty outside
    a repository, without history, or when the history cannot be read. ``record`` (called
    by a build, under the build lock) reads the history again when the repository's HEAD
    moved and returns whether it wrote anything. Neither raises.
    """

    def recent_changes(self) -> Mapping[str, int]: ...

    def record(self) -> bool: ...
