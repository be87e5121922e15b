"""Context packs: what a pack records, and its JSON schema (pure: no I/O).

A pack describes a segment at build time: the source files it read (size, mtime, sha256),
the chunks cut from them (ids, lines, kinds, token estimates), the files it refused and
why, and warnings. Chunk text is not stored in the pack: the source file is the truth and
is re-read (and its hash checked) when a chunk is served.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from trifecta.domain.errors import PackCorrupt
from trifecta.domain.model import TOKEN_ESTIMATOR, SkippedFile
from trifecta.domain.records import record, replace

PACK_SCHEMA_VERSION = 1
CHUNK_KINDS = ("module", "class", "function", "method", "section", "document")
# Kinds whose chunks partition the files (a module chunk covers its whole file; sections and
# documents cover Markdown without overlap): summing them counts every source token once.
COVERING_KINDS = frozenset({"module", "section", "document"})


# Path patterns of demoted files: a pattern without ``/`` matches any one path component
# (a directory or the file name), one with ``/`` the whole path (``fnmatch`` syntax, case
# ignored). Change logs are here too: they narrate every task in a task's own words.
DEFAULT_DEMOTE: tuple[str, ...] = (
    "test",
    "tests",
    "testing",
    "testsuite",
    "test_*.py",
    "*_test.py",
    "*_tests.py",
    "conftest.py",
    "example",
    "examples",
    "docs_src",
    "benchmark",
    "benchmarks",
    "bench",
    "vendor",
    "_vendor",
    "vendored",
    "third_party",
    "packages",
    "changes*.md",
    "changelog*.md",
    "history*.md",
    "news*.md",
    "changes*.rst",
    "changelog*.rst",
    "history*.rst",
    "news*.rst",
    # the project's own tooling, at the segment's root only (a package may have tools/)
    "tools/*",
    "scripts/*",
    "/setup.py",
    "/noxfile.py",
    "docs/conf.py",
    "doc/conf.py",
)


def covered_tokens(chunks: tuple[PackChunk, ...] | list[PackChunk]) -> int:
    """Estimated tokens of the source files, each counted once."""

    return sum(c.token_est for c in chunks if c.kind in COVERING_KINDS)


@record
class SourceFile:
    """A file the pack was built from, as it was when read."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    meta: bool = False
    lossy: bool = False


@record
class DirStamp:
    """A directory holding source files, with its mtime: a new file in it changes it."""

    path: str
    mtime_ns: int


@record
class PackChunk:
    """A chunk as the pack records it (its text lives in the source file).

    ``line_start``/``line_end`` are 1-based and inclusive; ``symbols`` are the names it
    defines (for code) or its heading (for Markdown); ``sha256`` hashes its text.
    """

    id: str
    path: str
    kind: str
    title: str
    title_path: tuple[str, ...]
    line_start: int
    line_end: int
    sha256: str
    token_est: int
    meta: bool = False
    symbols: tuple[str, ...] = ()


@record
class Pack:
    """A built context pack."""

    source_files: tuple[SourceFile, ...]
    chunks: tuple[PackChunk, ...]
    skipped: tuple[SkippedFile, ...] = ()
    warnings: tuple[str, ...] = ()
    directories: tuple[DirStamp, ...] = ()
    parser: str = ""
    schema_version: int = PACK_SCHEMA_VERSION
    estimator: str = TOKEN_ESTIMATOR

    def state(self) -> PackState:
        return PackState(self.source_files, self.directories, self.skipped, self.warnings)

    def files_by_path(self) -> dict[str, SourceFile]:
        return {f.path: f for f in self.source_files}

    def chunks_by_path(self) -> dict[str, list[PackChunk]]:
        out: dict[str, list[PackChunk]] = {}
        for chunk in self.chunks:
            out.setdefault(chunk.path, []).append(chunk)
        return out


@record
class KeptChunks:
    """In a patched pack (``PackStore.save_patch``): the stored pack's chunks of ``path``,
    exactly as they are."""

    path: str


# One file's chunks in a patched pack: new ones, or the stored pack's (kept).
ChunkPart = KeptChunks | tuple[PackChunk, ...]


@record
class PackState:
    """What freshness checks need, kept beside the index: the files read, the directories
    holding them, and the files refused (so they are not reported as new)."""

    files: tuple[SourceFile, ...]
    directories: tuple[DirStamp, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    warnings: tuple[str, ...] = ()


@record
class IndexDoc:
    """One chunk as the search index stores it: metadata plus pre-tokenised fields.

    The application tokenises (identifier-aware); the index only ranks (BM25).
    """

    chunk: PackChunk
    path_terms: str
    title_terms: str
    symbol_terms: str
    body_terms: str
    preview: str
    # The name the chunk defines, lower-case ("" for prose), and whether its file is
    # demoted (tests, examples, vendored code): both used by the ranking.
    name: str = ""
    demoted: bool = False


@record
class EncodedChunks:
    """One file's new chunks encoded where the file was cut (a build worker), so the build
    only appends them: ``pack`` as the pack store writes them (``PackWriter.add_encoded``),
    ``rows`` as the index stores them (``IndexWriter.add_encoded``); ``ids`` and ``tokens``
    (``covered_tokens``) for the build's own checks and counts."""

    ids: tuple[str, ...]
    tokens: int
    pack: bytes
    rows: tuple[tuple[object, ...], ...]


@record
class IndexHit:
    """A ranked hit as the index returns it: ``score`` is the ranking score (higher wins)."""

    chunk: PackChunk
    score: float
    preview: str


@record
class Candidate:
    """A chunk the index ranked, before the ranking policy: id, file and score."""

    id: str
    path: str
    score: float


# The length factor of a chunk's score: (max(tokens, LENGTH_FLOOR) / LENGTH_PIVOT) ** length.
LENGTH_FLOOR = 20
LENGTH_PIVOT = 200.0


@record
class Ranking:
    """What the ranking asks of the index beside the terms: chunks defining one of
    ``names`` have their BM25 score multiplied by ``defines``, demoted chunks by
    ``demote``, prose chunks (Markdown sections and documents) by ``prose``, and every
    chunk by its length factor (see ``LENGTH_PIVOT``) to the power ``length``: BM25's
    length normalisation alone buries the large definitions where changes happen."""

    names: tuple[str, ...] = ()
    defines: float = 1.0
    demote: float = 1.0
    prose: float = 1.0
    length: float = 0.0


@record
class IndexInfo:
    """What the index knows about the pack it was built from."""

    pack_sha: str
    pack_size: int
    pack_mtime_ns: int
    chunk_count: int
    tokens: int = 0  # covered tokens of the pack (a sync that changes nothing reports them)


# ---- JSON schema ---------------------------------------------------------------------------


def pack_to_dict(pack: Pack) -> dict[str, Any]:
    """The documented JSON form of a pack (docs/cli.md, "Pack schema")."""

    return {
        "schema_version": pack.schema_version,
        "estimator": pack.estimator,
        "parser": pack.parser,
        "source_files": [
            {
                "path": f.path,
                "size": f.size,
                "mtime_ns": f.mtime_ns,
                "sha256": f.sha256,
                "meta": f.meta,
                "lossy": f.lossy,
            }
            for f in pack.source_files
        ],
        "directories": [{"path": d.path, "mtime_ns": d.mtime_ns} for d in pack.directories],
        "chunks": [
            {
                "id": c.id,
                "path": c.path,
                "kind": c.kind,
                "title": c.title,
                "title_path": list(c.title_path),
                "line_start": c.line_start,
                "line_end": c.line_end,
                "sha256": c.sha256,
                "token_est": c.token_est,
                "meta": c.meta,
                "symbols": list(c.symbols),
            }
            for c in pack.chunks
        ],
        "skipped": [{"path": s.path, "reason": s.reason} for s in pack.skipped],
        "warnings": list(pack.warnings),
    }


def _field(record: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in record:
        raise PackCorrupt(f"pack is corrupt ({where}: missing {key!r}), run ctx build")
    value = record[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PackCorrupt(f"pack is corrupt ({where}: bad {key!r}), run ctx build")
    return value


def _str_list(record: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _field(record, key, list, where)
    if not all(isinstance(v, str) for v in values):
        raise PackCorrupt(f"pack is corrupt ({where}: bad {key!r}), run ctx build")
    return tuple(values)


def pack_from_dict(data: Any) -> Pack:
    """Parse and validate the JSON form; raises ``PackCorrupt`` naming the first problem."""

    if not isinstance(data, dict):
        raise PackCorrupt("pack is corrupt (not a JSON object), run ctx build")
    version = _field(data, "schema_version", int, "pack")
    if version != PACK_SCHEMA_VERSION:
        raise PackCorrupt(
            f"pack is corrupt (schema_version {version}, expected {PACK_SCHEMA_VERSION}), "
            "run ctx build"
        )
    files = tuple(
        SourceFile(
            path=_field(f, "path", str, "source_files"),
            size=_field(f, "size", int, "source_files"),
            mtime_ns=_field(f, "mtime_ns", int, "source_files"),
            sha256=_field(f, "sha256", str, "source_files"),
            meta=bool(f.get("meta", False)),
            lossy=bool(f.get("lossy", False)),
        )
        for f in _records(data, "source_files")
    )
    chunks = _chunks(_records(data, "chunks"))
    dirs = tuple(
        DirStamp(_field(d, "path", str, "directories"), _field(d, "mtime_ns", int, "directories"))
        for d in _records(data, "directories", required=False)
    )
    skipped = tuple(
        SkippedFile(_field(s, "path", str, "skipped"), _field(s, "reason", str, "skipped"))
        for s in _records(data, "skipped", required=False)
    )
    warnings = _str_list(data, "warnings", "pack") if "warnings" in data else ()
    return Pack(
        source_files=files,
        chunks=chunks,
        skipped=skipped,
        warnings=warnings,
        directories=dirs,
        parser=str(data.get("parser", "")),
        schema_version=version,
        estimator=_field(data, "estimator", str, "pack"),
    )


def _chunks(records: list[dict[str, Any]]) -> tuple[PackChunk, ...]:
    """Chunks parsed with inline type checks (a pack holds thousands; this is the hot part
    of loading one)."""

    out: list[PackChunk] = []
    for c in records:
        try:
            chunk = PackChunk(
                c["id"],
                c["path"],
                c["kind"],
                c["title"],
                tuple(c["title_path"]),
                c["line_start"],
                c["line_end"],
                c["sha256"],
                c["token_est"],
                c.get("meta", False) is True,
                tuple(c.get("symbols", ())),
            )
        except (KeyError, TypeError) as e:
            raise PackCorrupt(f"pack is corrupt (chunks: missing {e}), run ctx build") from e
        if not (
            type(c["title_path"]) is list
            and type(c.get("symbols", [])) is list
            and type(chunk.id) is str
            and type(chunk.path) is str
            and type(chunk.kind) is str
            and type(chunk.title) is str
            and type(chunk.sha256) is str
            and type(chunk.line_start) is int
            and type(chunk.line_end) is int
            and type(chunk.token_est) is int
            and all(type(t) is str for t in chunk.title_path)
            and all(type(t) is str for t in chunk.symbols)
        ):
            raise PackCorrupt(
                f"pack is corrupt (chunks: bad record {c.get('id')!r}), run ctx build"
            )
        out.append(chunk)
    return tuple(out)


def _records(data: Mapping[str, Any], key: str, required: bool = True) -> list[dict[str, Any]]:
    if key not in data and not required:
        return []
    values: list[Any] = _field(data, key, list, "pack")
    records: list[dict[str, Any]] = []
    for value in values:
        if not isinstance(value, dict):
            raise PackCorrupt(f"pack is corrupt (pack: bad {key!r}), run ctx build")
        records.append(value)
    return records


# ---- patched packs -------------------------------------------------------------------------


class StoredPackFacts:
    """What every stored pack (``ports.StoredPack``) answers the same way: its head (the
    pack without chunks), its sha256 and how many chunks each file has. Subclasses set
    ``_head``, ``_sha`` and ``_counts``."""

    _head: Pack
    _sha: str
    _counts: Mapping[str, int]

    @property
    def head(self) -> Pack:
        return self._head

    @property
    def sha(self) -> str:
        return self._sha

    @property
    def counts(self) -> Mapping[str, int]:
        return self._counts


class LoadedPack(StoredPackFacts):
    """A stored pack (``ports.StoredPack``) over a pack loaded whole: what a store without
    a cheaper way gives a sync."""

    def __init__(self, pack: Pack, sha: str) -> None:
        self.pack = pack
        self._sha = sha
        self._head = replace(pack, chunks=())
        counts: dict[str, int] = {}
        for chunk in pack.chunks:
            counts[chunk.path] = counts.get(chunk.path, 0) + 1
        self._counts = counts

    def chunks_of(self, paths: Collection[str]) -> list[PackChunk]:
        wanted = set(paths)
        return [c for c in self.pack.chunks if c.path in wanted]


def patched_chunks(kept: Iterable[PackChunk], parts: Iterable[ChunkPart]) -> tuple[PackChunk, ...]:
    """The chunk list ``parts`` describe, ``kept`` holding (at least) the chunks of every
    ``KeptChunks`` path."""

    by_path: dict[str, list[PackChunk]] = {}
    for chunk in kept:
        by_path.setdefault(chunk.path, []).append(chunk)
    out: list[PackChunk] = []
    for part in parts:
        out.extend(by_path.get(part.path, ()) if isinstance(part, KeptChunks) else part)
    return tuple(out)
