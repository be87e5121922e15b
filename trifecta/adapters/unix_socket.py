"""Unix stream sockets under a segment's ``_ctx/``: the warm language server's and the
search server's (shared by both adapters)."""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False  # the search client imports this before ``typing`` is needed
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

UNIX_PATH_MAX = 100


@contextlib.contextmanager
def connectable(path: str | Path) -> Iterator[str]:
    """A path ``bind``/``connect`` accept: AF_UNIX paths are limited to ~108 bytes, so a
    long one is reached through ``/proc/self/fd`` of its opened directory (Linux); the
    directory is closed again when the block ends."""

    text = os.fspath(path)
    if len(text.encode()) <= UNIX_PATH_MAX or not os.path.isdir("/proc/self/fd"):
        yield text
        return
    fd = os.open(os.path.dirname(text), os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{os.path.basename(text)}"
    finally:
        os.close(fd)
