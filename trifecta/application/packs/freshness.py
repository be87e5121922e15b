"""Freshness: is the pack still what the files say? Cheap by construction.

Each recorded source file is stat-ed; only files whose size or mtime moved are re-read and
their hash decides. New files are looked for only in a recorded directory whose mtime moved
(creating or deleting an entry changes its directory's mtime), and only there (plus any new
directory under it), so the common case is one ``stat`` per file and directory and no
listing, whatever the size of the tree. ``_ctx/`` (trifecta's own writes) is never a
recorded directory. The recorded state is read as plain rows (``index_freshness``) and the
disk through ``FileReader.stamps`` (one ``lstat`` per file and directory, no resolve), so
the check costs about what those system calls cost (docs/performance.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trifecta.application.packs.listing import ReaderLister
from trifecta.domain.errors import InputError
from trifecta.domain.listing import SegmentLister
from trifecta.domain.model import ReadMode
from trifecta.domain.packs import PackState
from trifecta.domain.ports import ChangeFeed, Clock, FileReader, SearchIndex

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

    files = [(f.path, f.size, f.mtime_ns, f.sha256) for f in state.files]
    if only_paths is not None:
        files = [f for f in files if f[0] in only_paths]
    dirs = [(d.path, d.mtime_ns) for d in state.directories] if only_paths is None else None
    make_lister = None if lister is None else (lambda: lister)
    return compare(reader, files, dirs, lambda: state, include, exclude, make_lister)


def index_freshness(
    reader: FileReader,
    index: SearchIndex,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    only_paths: frozenset[str] | None = None,
    lister: Callable[[], SegmentLister] | None = None,
) -> Freshness:
    """``check_freshness`` of the state the index records, read as plain rows (no
    records built): what search (every file) and get (``only_paths``) ask before they
    answer. Only when a directory moved are the whole state (its skip list) loaded and
    the lister made (``lister()``; default: a listing by ``reader``)."""

    files = index.file_stamps(only_paths)
    dirs = index.dir_stamps() if only_paths is None else None
    return compare(reader, files, dirs, index.state, include, exclude, lister)


def compare(
    reader: FileReader,
    files: Sequence[tuple[str, int, int, str]],
    dirs: Sequence[tuple[str, int]] | None,
    full_state: Callable[[], PackState],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    make_lister: Callable[[], SegmentLister] | None,
) -> Freshness:
    """The check itself: ``files`` are ``(path, size, mtime_ns, sha256)`` as recorded,
    ``dirs`` ``(path, mtime_ns)`` (None: no new-file search). One ``reader.stamps`` call
    stamps the directories first (so the files under them cost one ``lstat`` each), then
    the files; only files whose size or mtime moved are re-read, and their hash decides."""

    dir_paths = [d[0] for d in dirs] if dirs else []
    now = reader.stamps([*dir_paths, *(f[0] for f in files)])
    dir_now, file_now = now[: len(dir_paths)], now[len(dir_paths) :]
    changed: list[str] = []
    deleted: list[str] = []
    moved: list[tuple[str, str]] = []
    unchanged = 0
    for (path, size, mtime_ns, sha), stamp in zip(files, file_now, strict=True):
        if stamp is None:
            deleted.append(path)
        elif stamp[0] == size and stamp[1] == mtime_ns:
            unchanged += 1
        else:
            moved.append((path, sha))
    bytes_read = 0
    for path, sha in moved:
        if len(moved) > MAX_REHASH:
            changed.append(path)
            continue
        try:
            text = reader.read_text(path, ReadMode.RAW)
        except InputError:
            changed.append(path)
            continue
        bytes_read += text.size_bytes
        if text.sha256 != sha:
            changed.append(path)
    new: list[str] = []
    if dirs is not None:
        if not dirs:
            moved_dirs = [""]  # no directory recorded: list the whole root
        else:
            moved_dirs = [
                d[0]
                for d, stamp in zip(dirs, dir_now, strict=True)
                if stamp is None or stamp[1] != d[1]
            ]
        if moved_dirs:
            state = full_state()
            lister = make_lister() if make_lister is not None else ReaderLister(reader)
            known_dirs = {d.path for d in state.directories}
            listing = lister.list_changed(moved_dirs, known_dirs, include, exclude)
            known = {f.path for f in state.files} | {s.path for s in state.skipped}
            new = [e.path for e in listing.files if e.path not in known]
    return Freshness(
        changed=tuple(sorted(changed)),
        new=tuple(sorted(new)),
        deleted=tuple(sorted(deleted)),
        checked=len(files),
        unchanged_stat=unchanged,
        bytes_read=bytes_read,
    )


# A watched segment's clean check is reused for at most this long without a stat pass:
# the bound on what the feed cannot see (a symlink's target in an unwatched directory, a
# file system that reports no events, such as a network mount).
WATCH_RECHECK_NS = 2_000_000_000


class WatchedFreshness:
    """For a long-lived process: the last clean freshness check, reused while the change
    feed reports nothing since it and the index still records the same pack (and for at
    most ``WATCH_RECHECK_NS``). The feed is armed on the recorded directories before each
    full check, so whatever changes during the check is reported to the next one."""

    def __init__(self, feed: ChangeFeed, clock: Clock) -> None:
        self._feed = feed
        self._clock = clock
        self._lock = threading.Lock()
        self._clean: tuple[str, int, Freshness] | None = None  # pack sha, when, result
        self.reused = 0  # checks answered without a stat pass (for tests and benchmarks)

    def check(self, index: SearchIndex, pack_sha: str, full: Callable[[], Freshness]) -> Freshness:
        with self._lock:
            moved = self._feed.changed()  # drained first: later events wait for the next call
            now = self._clock.monotonic_ns()
            clean = self._clean
            if (
                not moved
                and clean is not None
                and clean[0] == pack_sha
                and now - clean[1] < WATCH_RECHECK_NS
            ):
                self.reused += 1
                return clean[2]
            self._clean = None
            armed = self._feed.arm([d for d, _ in index.dir_stamps()])
            fresh = full()
            if armed and not fresh.stale:
                self._clean = (
                    pack_sha,
                    now,
                    Freshness(checked=fresh.checked, unchanged_stat=fresh.checked),
                )
            return fresh

    def close(self) -> None:
        with self._lock:
            self._feed.close()
