"""``ChangeFeed`` on Linux's inotify (through ``inotify_simple``, a dependency on Linux).

One watch per recorded directory of the segment (the root is ``""``); any event on any of
them, a queue overflow or a watch the kernel dropped makes ``changed`` True. A directory
whose watch cannot be added (the per-user watch limit, a race with a delete) makes the feed
untrusted until it is armed again successfully. Where ``inotify_simple`` or inotify itself
is missing, ``make_change_feed`` returns None and freshness checks stat every file.

Whether the feed is ``complete`` (every write raises an event) depends on the segment's
file system, read from ``/proc/self/mountinfo``: a local one (``LOCAL_FILESYSTEMS``) is;
a network, FUSE or shared-folder file system (NFS, SMB, 9p, virtiofs, ``fuse.*``...) or
an unknown one is not, since writes made on another machine or the host raise no event.
Nor is a feed whose watched directories hold a symlink (its target may sit in a directory
no watch sees). It is decided when the feed is made (the mounts) and as directories are
armed or entries created (the symlinks); a file system mounted inside the segment later is
not noticed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from trifecta.domain.ports import ChangeFeed

# File systems where every write to a watched directory raises an inotify event here.
LOCAL_FILESYSTEMS = frozenset(
    {
        "ext2",
        "ext3",
        "ext4",
        "xfs",
        "btrfs",
        "bcachefs",
        "zfs",
        "f2fs",
        "jfs",
        "reiserfs",
        "nilfs2",
        "tmpfs",
        "ramfs",
        "overlay",
        "vfat",
        "exfat",
        "ntfs3",
    }
)


def _unescape(field: str) -> str:
    """A mountinfo path field: spaces, tabs, newlines and backslashes come octal-escaped."""

    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _mounts(mountinfo: str) -> Iterator[tuple[str, str]]:
    """The mount point and file system type of each well-formed line of a mountinfo text."""

    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, kinds = head.split(), tail.split()
        if sep and len(fields) >= 5 and kinds:
            yield _unescape(fields[4]), kinds[0]


def filesystem_type(path: str, mountinfo: str) -> str | None:
    """The type of the file system ``path`` (absolute, resolved) is on, per the text of a
    ``/proc/<pid>/mountinfo``: the mount with the longest mount point above it (the last
    such line when one is mounted over another); None when no line covers it."""

    best: tuple[int, str] | None = None
    for point, kind in _mounts(mountinfo):
        inside = path == point or point == "/" or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), kind)
    return None if best is None else best[1]


def mounted_inside(path: str, mountinfo: str) -> list[str]:
    """The types of the file systems mounted strictly below ``path`` (a segment may hold a
    mount of another kind: a network share bound into the work tree)."""

    prefix = path.rstrip("/") + "/"
    return [
        kind
        for point, kind in _mounts(mountinfo)
        if point.rstrip("/") != path.rstrip("/") and point.startswith(prefix)
    ]


def _complete(root: Path) -> bool:
    """Whether every file system the segment spans reports every write (see the module)."""

    try:
        with open("/proc/self/mountinfo", "rb") as handle:
            mountinfo = os.fsdecode(handle.read())  # as realpath decodes names
    except OSError:
        return False
    path = os.path.realpath(root)
    kinds = [filesystem_type(path, mountinfo), *mounted_inside(path, mountinfo)]
    return all(kind in LOCAL_FILESYSTEMS for kind in kinds)


class InotifyChangeFeed(ChangeFeed):
    def __init__(self, root: Path, inotify: Any, flags: Any, complete: bool = False) -> None:
        self._root = root
        self._complete = complete
        self._inotify = inotify
        self._mask = (
            flags.MODIFY
            | flags.ATTRIB
            | flags.CLOSE_WRITE
            | flags.CREATE
            | flags.DELETE
            | flags.MOVED_FROM
            | flags.MOVED_TO
            | flags.DELETE_SELF
            | flags.MOVE_SELF
            | flags.DONT_FOLLOW
            | flags.ONLYDIR
        )
        self._ignored = int(flags.IGNORED)  # the kernel dropped a watch (its directory went)
        self._overflow = int(flags.Q_OVERFLOW)  # events were lost
        self._watched: dict[str, int] = {}  # directory -> watch descriptor
        self._created = int(flags.CREATE | flags.MOVED_TO)
        self._links = False  # a symlink was seen in a watched directory
        self._trusted = False
        self._closed = False

    @property
    def complete(self) -> bool:
        # A symlink in a watched directory: its target's directory may be one no watch sees
        # (an ignored folder), so a write there raises no event here.
        return self._complete and not self._links

    def arm(self, directories: Sequence[str]) -> bool:
        if self._closed:
            return False
        ok = True
        for rel in dict.fromkeys(("", *directories)):
            if rel in self._watched:
                continue
            path = self._root / rel if rel else self._root
            try:
                self._watched[rel] = self._inotify.add_watch(os.fspath(path), self._mask)
            except OSError:
                ok = False
                continue
            if not self._links:
                self._links = _holds_symlink(os.fspath(path))
        self._trusted = ok
        return ok

    def changed(self) -> bool:
        if self._closed or not self._trusted:
            return True
        try:
            events = self._inotify.read(timeout=0)
        except OSError:
            self._trusted = False
            return True
        if not events:
            return False
        gone = {e.wd for e in events if e.mask & self._ignored}
        if gone:
            self._watched = {d: wd for d, wd in self._watched.items() if wd not in gone}
        if not self._links and any(e.mask & self._created for e in events):
            dirs = {wd: d for d, wd in self._watched.items()}
            for e in events:
                if e.mask & self._created and e.wd in dirs and e.name:
                    rel = f"{dirs[e.wd]}/{e.name}" if dirs[e.wd] else e.name
                    if os.path.islink(self._root / rel):
                        self._links = True
        if any(e.mask & self._overflow for e in events):
            self._trusted = False
        return True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                self._inotify.close()


def _holds_symlink(directory: str) -> bool:
    """Whether ``directory`` has a symlink among its entries (from the entries' types: no
    ``stat`` per entry); an unreadable directory counts as holding one."""

    try:
        with os.scandir(directory) as entries:
            return any(entry.is_symlink() for entry in entries)
    except OSError:
        return True


def make_change_feed(root: Path) -> ChangeFeed | None:
    """An inotify feed for ``root``, or None where there is none (not Linux, no
    ``inotify_simple``, no inotify instance left)."""

    try:
        from inotify_simple import INotify, flags
    except ImportError:
        return None
    try:
        inotify = INotify(nonblocking=True)
    except OSError:
        return None
    return InotifyChangeFeed(Path(root), inotify, flags, _complete(Path(root)))
