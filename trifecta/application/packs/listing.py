"""``ReaderLister``: the listing port over a plain ``FileReader`` (one full listing), for
wirings without a dedicated lister (the unit tests' fakes). Directories are the parents of
the listed files; ``list_changed`` lists everything and keeps what lies in the asked
directories or under new ones."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from trifecta.domain.listing import SegmentLister, SegmentListing
from trifecta.domain.packs import DirStamp
from trifecta.domain.ports import FileReader


class ReaderLister(SegmentLister):
    def __init__(self, reader: FileReader) -> None:
        self._reader = reader

    def _stamps(self, directories: Sequence[str]) -> tuple[DirStamp, ...]:
        stamps = []
        for directory in directories:
            entry = self._reader.stat(directory)
            stamps.append(DirStamp(directory, entry.mtime_ns if entry else -1))
        return tuple(stamps)

    def check_patterns(self, include: Sequence[str], exclude: Sequence[str]) -> None:
        """The reader checks its globs when it lists; a plain reader has no other check."""

    def list_segment(self, include: Sequence[str], exclude: Sequence[str]) -> SegmentListing:
        files, skipped = self._reader.list_files(include, exclude)
        dirs = [d for d in parent_dirs([f.path for f in files]) if not _own_state(d)]
        return SegmentListing(tuple(files), tuple(skipped), self._stamps(dirs))

    def list_changed(
        self,
        directories: Sequence[str],
        known: Collection[str],
        include: Sequence[str],
        exclude: Sequence[str],
    ) -> SegmentListing:
        everything = self.list_segment(include, exclude)
        wanted = set(directories)
        new_dirs = {d.path for d in everything.directories if d.path not in known}

        def kept(path: str) -> bool:
            parent = path.rpartition("/")[0]
            return parent in wanted or any(
                parent == d or parent.startswith(d + "/") for d in new_dirs
            )

        return SegmentListing(
            tuple(f for f in everything.files if kept(f.path)),
            tuple(s for s in everything.skipped if kept(s.path.rstrip("/"))),
            tuple(d for d in everything.directories if d.path in wanted or d.path in new_dirs),
        )


def parent_dirs(paths: Sequence[str]) -> list[str]:
    """Every directory holding one of ``paths``, and their ancestors ("" is the root)."""

    dirs: set[str] = {""}
    for path in paths:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def _own_state(directory: str) -> bool:
    """``_ctx/`` holds trifecta's own writes: never watched (its mtime moves on every run)."""

    return directory == "_ctx" or directory.startswith("_ctx/")
