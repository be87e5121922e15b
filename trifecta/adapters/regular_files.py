"""Reading the small files trifecta keeps beside a pack (``_ctx/``) without ever blocking:
a FIFO or a device put in a file's place is refused, not waited on."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; a FIFO or a device in its place is refused without
    blocking (opened non-blocking, checked with fstat)."""

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    finally:
        os.close(fd)
