"""Freshness: is the pack still what the files say? Cheap by construction.

Each recorded source file is stat-ed; only files whose size or mtime moved are re-read and
their hash decides. New files are looked for only in a recorded directory whose mtime moved
(creating or deleting an entry changes its directory's mtime), and only there (plus any new
directory under it), so the common case is one ``stat`` per file and directory and no
listing, whatever the size of the tree. ``_ctx/`` (trifecta's own writes) is never a
recorded directory. The recorded state is read as plain rows without hashes
(``index_check``; the hashes of the files that moved are looked up) and the disk through
``FileReader.stamps`` (one ``lstat`` per file and directory, no resolve), so the check
costs about what those system calls cost; a search runs them on a second thread while the
index ranks its query (``FreshnessCheck.start``; docs/performance.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from trifecta.application.packs.listing import ReaderLister
from trifecta.domain.errors import InputError
from trifecta.domain.listing import SegmentLister
from trifecta.domain.model import ReadMode
from trifecta.domain.packs import PackState
from trifecta.domain.ports import ChangeFeed, Clock, FileReader, SearchIndex
from trifecta.domain.records import record

MAX_REHASH = 32  # beyond this many moved files, report them changed without re-reading


@record
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

    files = [(f.path, f.size, f.mtime_ns) for f in state.files]
    if only_paths is not None:
        files = [f for f in files if f[0] in only_paths]
    dirs = [(d.path, d.mtime_ns) for d in state.directories] if only_paths is None else None
    make_lister = None if lister is None else (lambda: lister)

    def recorded_sha(paths: Sequence[str]) -> dict[str, str]:
        return {f.path: f.sha256 for f in state.files}

    check = FreshnessCheck(
        reader, files, dirs, recorded_sha, lambda: state, include, exclude, make_lister
    )
    return check.run()


def index_check(
    reader: FileReader,
    index: SearchIndex,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    only_paths: frozenset[str] | None = None,
    lister: Callable[[], SegmentLister] | None = None,
) -> FreshnessCheck:
    """``check_freshness`` of the state the index records, read now as plain rows (no
    records built, no hashes: those of the files that moved are looked up). Only when a
    directory moved are the whole state (its skip list) loaded and the lister made
    (``lister()``; default: a listing by ``reader``)."""

    if only_paths is None:
        files: Sequence[tuple[str, int, int]] = index.file_stats()
        dirs: Sequence[tuple[str, int]] | None = index.dir_stamps()
    else:
        files = [(p, size, mtime_ns) for p, size, mtime_ns, _ in index.file_stamps(only_paths)]
        dirs = None

    def recorded_sha(paths: Sequence[str]) -> dict[str, str]:
        return {p: sha for p, _, _, sha in index.file_stamps(paths)}

    return FreshnessCheck(reader, files, dirs, recorded_sha, index.state, include, exclude, lister)


def index_freshness(
    reader: FileReader,
    index: SearchIndex,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    only_paths: frozenset[str] | None = None,
    lister: Callable[[], SegmentLister] | None = None,
) -> Freshness:
    """``index_check`` run at once: what get (``only_paths``) asks before it answers."""

    return index_check(reader, index, include, exclude, only_paths, lister).run()


class FreshnessCheck:
    """One check: ``files`` are ``(path, size, mtime_ns)`` as recorded, ``dirs``
    ``(path, mtime_ns)`` (None: no new-file search). One ``reader.stamps`` call stamps the
    directories first (so the files under them cost one ``lstat`` each), then the files;
    only files whose size or mtime moved are re-read, and their recorded hash
    (``recorded_sha``) decides.

    ``run`` does it all in the calling thread. ``start`` runs the stat pass (system calls
    only: it touches no index and holds the GIL little) on a thread of its own and returns
    the function that waits for it and finishes: the caller queries the index meanwhile
    (search: the full-text query and the stat pass overlap)."""

    def __init__(
        self,
        reader: FileReader,
        files: Sequence[tuple[str, int, int]],
        dirs: Sequence[tuple[str, int]] | None,
        recorded_sha: Callable[[Sequence[str]], Mapping[str, str]],
        full_state: Callable[[], PackState],
        include: tuple[str, ...],
        exclude: tuple[str, ...],
        make_lister: Callable[[], SegmentLister] | None,
    ) -> None:
        self._reader = reader
        self._files = files
        self._dirs = dirs
        self._recorded_sha = recorded_sha
        self._full_state = full_state
        self._include = include
        self._exclude = exclude
        self._make_lister = make_lister

    def _paths(self) -> list[str]:
        return [*(d[0] for d in self._dirs or ()), *(f[0] for f in self._files)]

    def run(self) -> Freshness:
        return self._finish(self._reader.stamps(self._paths()))

    def start(self) -> Callable[[], Freshness]:
        paths = self._paths()
        done: list[list[tuple[int, int] | None]] = []
        failed: list[BaseException] = []

        def stat_pass() -> None:
            try:
                done.append(self._reader.stamps(paths))
            except BaseException as e:  # re-raised by the caller's thread in wait()
                failed.append(e)

        thread = threading.Thread(target=stat_pass, name="trifecta-freshness", daemon=True)
        thread.start()

        def wait() -> Freshness:
            thread.join()
            if failed:
                raise failed[0]
            return self._finish(done[0])

        return wait

    def _finish(self, now: Sequence[tuple[int, int] | None]) -> Freshness:
        dirs, files = self._dirs, self._files
        n_dirs = len(dirs) if dirs else 0
        dir_now, file_now = now[:n_dirs], now[n_dirs:]
        changed: list[str] = []
        deleted: list[str] = []
        moved: list[str] = []
        unchanged = 0
        for (path, size, mtime_ns), stamp in zip(files, file_now, strict=True):
            if stamp is None:
                deleted.append(path)
            elif stamp[0] == size and stamp[1] == mtime_ns:
                unchanged += 1
            else:
                moved.append(path)
        bytes_read = 0
        if len(moved) > MAX_REHASH:
            changed += moved
        elif moved:
            shas = self._recorded_sha(moved)
            for path in moved:
                try:
                    text = self._reader.read_text(path, ReadMode.RAW)
                except InputError:
                    changed.append(path)
                    continue
                bytes_read += text.size_bytes
                if text.sha256 != shas.get(path):
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
                state = self._full_state()
                make = self._make_lister
                lister = make() if make is not None else ReaderLister(self._reader)
                known_dirs = {d.path for d in state.directories}
                listing = lister.list_changed(moved_dirs, known_dirs, self._include, self._exclude)
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
# the bound on what the feed cannot see. Where the feed may miss a write (a network mount,
# a FUSE or shared folder, a symlink whose target's directory is not watched:
# ``ChangeFeed.complete`` False) the bound is short; on a local disk without symlinks every
# write through the segment's directories is an event, and the bound caps the rest (a
# hard link written from elsewhere, a write through ``mmap``) while letting an agent's
# calls seconds apart reuse the check.
WATCH_RECHECK_NS = 2_000_000_000
WATCH_LOCAL_RECHECK_NS = 30_000_000_000


class WatchedFreshness:
    """For a long-lived process: the last clean freshness check, reused while the change
    feed reports nothing since it and the index still records the same pack (and for at
    most ``WATCH_LOCAL_RECHECK_NS`` on a file system that reports every write, else
    ``WATCH_RECHECK_NS``). The feed is armed on the recorded directories before each
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
                and now - clean[1]
                < (WATCH_LOCAL_RECHECK_NS if self._feed.complete else WATCH_RECHECK_NS)
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
