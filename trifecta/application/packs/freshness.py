"""Freshness: is the pack still what the files say? Cheap by construction.

Each recorded source file is stat-ed; only files whose size or mtime moved are re-read and
their hash decides. New files are looked for only in a recorded directory whose mtime moved
(creating or deleting an entry changes its directory's mtime), and only there (plus any new
directory under it), so the common case is one ``stat`` per file and directory and no
listing, whatever the size of the tree. ``_ctx/`` (trifecta's own writes) is never a
recorded directory.
"""

from __future__ import annotations

from dataclasses import dataclass

from trifecta.application.packs.listing import ReaderLister
from trifecta.domain.errors import InputError
from trifecta.domain.listing import SegmentLister
from trifecta.domain.model import ReadMode
from trifecta.domain.packs import PackState
from trifecta.domain.ports import FileReader

MAX_REHASH = 32  # beyond this many moved files, report them changed without re-reading


@dataclass(frozen=True)
class Freshness:
    changed: tuple[str, ...] = ()
    new: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    checked: int = 0
    unchanged_stat: int = 0
    bytes_read: int = 0

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.new or self.deleted)

    @property
    def stale_paths(self) -> frozenset[str]:
        return frozenset((*self.changed, *self.deleted))

    @property
    def cache_hit_rate(self) -> float:
        """Share of recorded files whose stat matched the pack (no re-read needed)."""

        return round(self.unchanged_stat / self.checked, 4) if self.checked else 1.0

    def to_dict(self) -> dict[str, list[str]]:
        return {"changed": list(self.changed), "new": list(self.new), "deleted": list(self.deleted)}


def check_freshness(
    reader: FileReader,
    state: PackState,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    only_paths: frozenset[str] | None = None,
    lister: SegmentLister | None = None,
) -> Freshness:
    """Compare the recorded ``state`` with the disk. ``only_paths`` limits the file check
    to those paths (``get`` checks the files it serves) and skips the new-file search;
    ``lister`` lists a moved directory again (default: a full listing by ``reader``)."""

    changed: list[str] = []
    deleted: list[str] = []
    moved: list[str] = []
    unchanged = 0
    checked = 0
    recorded = {f.path: f for f in state.files}
    for record in state.files:
        if only_paths is not None and record.path not in only_paths:
            continue
        checked += 1
        now = reader.stat(record.path)
        if now is None:
            deleted.append(record.path)
        elif now.size == record.size and now.mtime_ns == record.mtime_ns:
            unchanged += 1
        else:
            moved.append(record.path)
    bytes_read = 0
    for path in moved:
        if len(moved) > MAX_REHASH:
            changed.append(path)
            continue
        try:
            text = reader.read_text(path, ReadMode.RAW)
        except InputError:
            changed.append(path)
            continue
        bytes_read += text.size_bytes
        if text.sha256 != recorded[path].sha256:
            changed.append(path)
    new: list[str] = []
    moved_dirs = _directories_moved(reader, state) if only_paths is None else []
    if moved_dirs:
        lister = lister if lister is not None else ReaderLister(reader)
        known_dirs = {d.path for d in state.directories}
        listing = lister.list_changed(moved_dirs, known_dirs, include, exclude)
        known = set(recorded) | {s.path for s in state.skipped}
        new = [e.path for e in listing.files if e.path not in known]
    return Freshness(
        changed=tuple(sorted(changed)),
        new=tuple(sorted(new)),
        deleted=tuple(sorted(deleted)),
        checked=checked,
        unchanged_stat=unchanged,
        bytes_read=bytes_read,
    )


def _directories_moved(reader: FileReader, state: PackState) -> list[str]:
    """The recorded directories whose mtime moved (all of the root when none is recorded)."""

    if not state.directories:
        return [""]
    moved = []
    for stamp in state.directories:
        now = reader.stat(stamp.path)
        if now is None or now.mtime_ns != stamp.mtime_ns:
            moved.append(stamp.path)
    return moved
