"""Ingestion: which files a pack reads, in what order, and how each is cut into chunks."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, replace

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
from trifecta.domain.errors import ParseFailed
from trifecta.domain.model import FileEntry, Skeleton
from trifecta.domain.packs import DEFAULT_DEMOTE, IndexDoc
from trifecta.domain.ports import SkeletonParser

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
        docs = [replace(doc, demoted=True) for doc in docs]
    return docs, warning


def parent_dirs(paths: Sequence[str]) -> list[str]:
    """Every directory holding one of ``paths``, and their ancestors ("" is the root)."""

    dirs: set[str] = {""}
    for path in paths:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)
