"""``ChangeFeed`` on Linux's inotify (through ``inotify_simple``, the ``mcp`` extra).

One watch per recorded directory of the segment (the root is ``""``); any event on any of
them, a queue overflow or a watch the kernel dropped makes ``changed`` True. A directory
whose watch cannot be added (the per-user watch limit, a race with a delete) makes the feed
untrusted until it is armed again successfully. Where ``inotify_simple`` or inotify itself
is missing, ``make_change_feed`` returns None and freshness checks stat every file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trifecta.domain.ports import ChangeFeed


class InotifyChangeFeed(ChangeFeed):
    def __init__(self, root: Path, inotify: Any, flags: Any) -> None:
        self._root = root
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
        self._trusted = False
        self._closed = False

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
        if any(e.mask & self._overflow for e in events):
            self._trusted = False
        return True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                self._inotify.close()


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
    return InotifyChangeFeed(Path(root), inotify, flags)
