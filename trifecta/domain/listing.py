"""Which files make up a segment: the listing port and what it answers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from trifecta.domain.model import FileEntry, SkippedFile
from trifecta.domain.packs import DirStamp
from trifecta.domain.records import record


@record
class SegmentListing:
    """The files to consider (matching the include globs), the files and directories left
    out with their reason (a directory's path ends with ``/``), and the stamps of the
    directories the listing looked into (the root is ``""``); a file created in one of them
    changes its mtime, which is how freshness notices new files without listing again."""

    files: tuple[FileEntry, ...]
    skipped: tuple[SkippedFile, ...]
    directories: tuple[DirStamp, ...]


class SegmentLister(Protocol):
    """Lists a segment's files under its ignore rules (git's inside a work tree)."""

    def check_patterns(self, include: Sequence[str], exclude: Sequence[str]) -> None:
        """Raise ``ConfigError`` naming the first glob that cannot be compiled (a sync that
        lists nothing still refuses bad settings)."""
        ...

    def list_segment(self, include: Sequence[str], exclude: Sequence[str]) -> SegmentListing:
        """Every file of the segment."""
        ...

    def list_changed(
        self,
        directories: Sequence[str],
        known: Collection[str],
        include: Sequence[str],
        exclude: Sequence[str],
    ) -> SegmentListing:
        """The files right inside ``directories`` (whose mtime moved) and everything under
        their subdirectories not in ``known`` (new ones); ``directories`` in the answer are
        those directories (fresh stamps) and the new ones."""
        ...
