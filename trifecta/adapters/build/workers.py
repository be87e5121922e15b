"""The chunker a build worker process runs: built from plain values (picklable), so a
worker opens its own file reader, parsers and skeleton-cache connection."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.pack_store.json_store import encode_chunks
from trifecta.adapters.python_ast.parser import AstSkeletonParser
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.sqlite_index.index import encode_rows
from trifecta.adapters.system.clock import SystemClock
from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser
from trifecta.application.packs.ingest import FileChunker
from trifecta.application.packs.workers import ChunkerFactory
from trifecta.domain.packs import EncodedChunks, IndexDoc, covered_tokens


def encode_for_writers(docs: Sequence[IndexDoc]) -> EncodedChunks:
    """One file's documents as the JSON pack store and the SQLite index write them (run in
    a build worker: the build process then only appends them)."""

    chunks = [d.chunk for d in docs]
    return EncodedChunks(
        tuple(c.id for c in chunks),
        covered_tokens(chunks),
        encode_chunks(chunks),
        encode_rows(docs),
    )


def file_chunker(
    root: str,
    max_bytes: int,
    cache_path: str,
    cache_max_bytes: int,
    cache_max_entry_bytes: int,
    demote: tuple[str, ...],
) -> FileChunker:
    """A chunker on the segment ``root``: ``ast`` with the Tree-sitter fallback, through the
    skeleton cache ``ast skeleton`` uses (none when ``cache_max_bytes`` is 0)."""

    cache = (
        SqliteSkeletonCache(
            Path(cache_path),
            SystemClock(),
            max_bytes=cache_max_bytes,
            max_entry_bytes=cache_max_entry_bytes,
        )
        if cache_max_bytes > 0
        else None
    )
    return FileChunker(
        LocalFileReader(Path(root), max_bytes=max_bytes),
        AstSkeletonParser(),
        TreeSitterSkeletonParser(),
        cache,
        demote,
        encode_for_writers,
    )


def chunker_factory(
    root: Path,
    max_bytes: int,
    cache_path: Path,
    cache_max_bytes: int,
    cache_max_entry_bytes: int,
    demote: Sequence[str],
) -> ChunkerFactory:
    return functools.partial(
        file_chunker,
        str(root),
        int(max_bytes),
        str(cache_path),
        int(cache_max_bytes),
        int(cache_max_entry_bytes),
        tuple(demote),
    )
