"""Ingestion: which files a pack reads, in what order, and how each is cut into chunks."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from trifecta.application.packs.chunking import (
    IdAllocator,
    chunk_markdown,
    chunk_python,
    chunk_text_file,
    is_markdown,
    is_python,
)
from trifecta.application.packs.config import META_INCLUDES, META_PATTERNS, PackSettings
from trifecta.application.packs.ranking import is_demoted
from trifecta.application.skeletons.use_cases import parse_with_fallback
from trifecta.domain.errors import InputError, ParseFailed
from trifecta.domain.model import FileEntry, ReadMode, Skeleton
from trifecta.domain.packs import DEFAULT_DEMOTE, EncodedChunks, IndexDoc, PackChunk
from trifecta.domain.ports import ChunkEncoder, FileReader, SkeletonCache, SkeletonParser
from trifecta.domain.skeleton_codec import encode_skeleton

__all__ = ["META_INCLUDES", "META_PATTERNS", "PackSettings", "chunk_file", "ingestion_order"]


def meta_rank(path: str) -> int | None:
    """The position of ``path`` among the meta patterns, or None if it is not meta."""

    for rank, pattern in enumerate(META_PATTERNS):
        if fnmatch.fnmatchcase(path, pattern):
            return rank
    return None


def ingestion_order(entries: Sequence[FileEntry]) -> list[FileEntry]:
    """Meta files first (pattern order, then path), then every other file by path."""

    def key(entry: FileEntry) -> tuple[int, int, str]:
        rank = meta_rank(entry.path)
        return (0, rank, entry.path) if rank is not None else (1, 0, entry.path)

    return sorted(entries, key=key)


@dataclass(frozen=True)
class Parsed:
    skeleton: Skeleton | None
    warning: str | None


def parse_python(
    primary: SkeletonParser, fallback: SkeletonParser | None, text: str, path: str
) -> Parsed:
    """The skeletons' fallback policy (``parse_with_fallback``), with a warning when the
    tolerant parser had to recover or when nothing could parse the file."""

    try:
        skeleton = parse_with_fallback(primary, fallback, text, path)
    except ParseFailed as e:
        return Parsed(None, f"{path}: not parsed ({e}); indexed as one module chunk")
    if skeleton.partial:
        return Parsed(skeleton, f"{path}: parsed partially by {skeleton.parser}")
    return Parsed(skeleton, None)


def chunk_file(
    path: str,
    text: str,
    meta: bool,
    primary: SkeletonParser,
    fallback: SkeletonParser | None,
    ids: IdAllocator | None = None,
    demote: Sequence[str] = DEFAULT_DEMOTE,
) -> tuple[list[IndexDoc], str | None]:
    """The index documents of one file and an optional warning; ``ids``: the pack's
    allocator, so ids stay unique across files; ``demote``: the path patterns of code the
    ranking puts below the code under test (tests, examples, vendored code)."""

    warning = None
    if is_python(path):
        parsed = parse_python(primary, fallback, text, path)
        docs, warning = chunk_python(path, text, parsed.skeleton, meta, ids), parsed.warning
    elif is_markdown(path):
        docs = chunk_markdown(path, text, meta, ids)
    else:
        docs = chunk_text_file(path, text, meta, ids)
    if is_demoted(path, demote):
        docs = [_demoted(doc) for doc in docs]
    return docs, warning


def _demoted(doc: IndexDoc) -> IndexDoc:
    """``replace(doc, demoted=True)``, built directly (a build makes tens of thousands)."""

    return IndexDoc(
        doc.chunk,
        doc.path_terms,
        doc.title_terms,
        doc.symbol_terms,
        doc.body_terms,
        doc.preview,
        doc.name,
        True,
    )


# ---- one file, as a build worker handles it ------------------------------------------------


@dataclass(frozen=True)
class ChunkTask:
    """A file to (re)cut: its path, whether it is meta, and the sha256 the pack has for it
    (``None`` for a new file); a file whose content still has that hash is not cut again."""

    path: str
    meta: bool
    old_sha256: str | None = None
    encode: bool = False  # a full build's: the chunks encoded for the writers (``encoded``)


@dataclass(frozen=True)
class ChunkOutcome:
    """What cutting one file gave: ``skip`` (a reason) when it could not be read;
    ``chunks`` None when its content still has the pack's hash (only touched); ``docs``:
    the index documents of those chunks (pickled with them from a worker: each chunk is
    sent once, the documents refer to it); ``encoded``: instead of both (``chunks`` then
    empty), the same encoded for the pack and the index (a full build's task, when the
    chunker has the writers' ``ChunkEncoder``)."""

    path: str
    size: int = 0
    sha256: str = ""
    lossy: bool = False
    chunks: tuple[PackChunk, ...] | None = None
    docs: tuple[IndexDoc, ...] = ()
    warnings: tuple[str, ...] = ()
    skip: str | None = None
    parsed: tuple[tuple[str, str, str, bytes], ...] = ()  # new skeleton-cache entries
    encoded: EncodedChunks | None = None


class _Cached(SkeletonParser):
    """A parser seen through the skeleton cache for one content hash (the key ``ast
    skeleton`` uses, so each serves the other's parses). A parse is not stored at once but
    added to ``parsed``, encoded (``encode_skeleton``: a worker sends bytes, the build
    stores them in a few large writes); ``ParseFailed`` is never stored."""

    def __init__(
        self,
        parser: SkeletonParser,
        cache: SkeletonCache,
        sha256: str,
        parsed: list[tuple[str, str, str, bytes]],
    ) -> None:
        self._parser = parser
        self._cache = cache
        self._sha256 = sha256
        self._parsed = parsed

    @property
    def name(self) -> str:
        return self._parser.name

    @property
    def version(self) -> str:
        return self._parser.version

    def parse(self, source: str, path: str) -> Skeleton:
        stored = self._cache.get(self._sha256, self._parser.name, self._parser.version)
        if stored is not None:
            return stored
        skeleton = self._parser.parse(source, path)
        version, data = self._parser.version, encode_skeleton(skeleton)
        self._parsed.append((self._sha256, self._parser.name, version, data))
        return skeleton


class FileChunker:
    """Reads one file and cuts it (``run``): what a build worker process does per file.
    Built in each worker by a picklable factory; only tasks and outcomes cross processes."""

    def __init__(
        self,
        reader: FileReader,
        parser: SkeletonParser,
        fallback: SkeletonParser | None,
        cache: SkeletonCache | None = None,
        demote: Sequence[str] = DEFAULT_DEMOTE,
        encoder: ChunkEncoder | None = None,
    ) -> None:
        self._reader = reader
        self._parser = parser
        self._fallback = fallback
        self._cache = cache
        self._demote = tuple(demote)
        self._encoder = encoder

    def close(self) -> None:
        """Release the skeleton cache's connection (a build holds nothing afterwards)."""

        if self._cache is not None:
            self._cache.close()

    def run(self, task: ChunkTask, ids: IdAllocator | None = None) -> ChunkOutcome:
        path = task.path
        try:
            text = self._reader.read_text(path, ReadMode.RAW)
        except InputError as e:
            return ChunkOutcome(path, skip=str(e).removeprefix(f"{path}: ") or type(e).__name__)
        warnings: list[str] = []
        if text.lossy:
            warnings.append(f"{path}: not valid UTF-8, decoded with replacement")
        if task.old_sha256 == text.sha256:
            return ChunkOutcome(path, text.size_bytes, text.sha256, text.lossy, None)
        primary, fallback = self._parser, self._fallback
        parsed: list[tuple[str, str, str, bytes]] = []
        if self._cache is not None and is_python(path):
            sha = text.sha256
            primary = _Cached(primary, self._cache, sha, parsed)
            fallback = None if fallback is None else _Cached(fallback, self._cache, sha, parsed)
        docs, parse_warning = chunk_file(
            path, text.text, task.meta, primary, fallback, ids, self._demote
        )
        if parse_warning:
            warnings.append(parse_warning)
        if task.encode and self._encoder is not None:
            return ChunkOutcome(
                path,
                text.size_bytes,
                text.sha256,
                text.lossy,
                (),
                (),
                tuple(warnings),
                parsed=tuple(parsed),
                encoded=self._encoder(docs),
            )
        return ChunkOutcome(
            path,
            text.size_bytes,
            text.sha256,
            text.lossy,
            tuple(d.chunk for d in docs),
            tuple(docs),
            tuple(warnings),
            parsed=tuple(parsed),
        )

    def store(self, parsed: Sequence[tuple[str, str, str, bytes]]) -> None:
        """Keep the skeletons workers parsed (encoded) in the shared cache (one write)."""

        if self._cache is not None and parsed:
            self._cache.put_encoded(parsed)
