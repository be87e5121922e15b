"""Unix stream sockets, locks and detached launches under a segment's ``_ctx/``: what the
warm language server and the search server share."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket

TYPE_CHECKING = False  # the search client imports this before ``typing`` is needed
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator, Sequence
    from pathlib import Path
    from typing import IO

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


def take_lock(path: Path) -> IO[bytes] | None:
    """``path`` opened and exclusively ``flock``-ed without waiting (the lock lasts as long
    as the returned file stays open); None when another process holds it."""

    lock = open(path, "ab")  # noqa: SIM115 - the open file is the lock, returned to the caller
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def bind_private(path: Path, backlog: int) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600 from its creation, replacing a file
    left there (call it holding the lock that makes any such file stale)."""

    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listen = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        with connectable(path) as address:
            listen.bind(address)
    except BaseException:
        listen.close()
        raise
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    listen.listen(backlog)
    return listen


def launch_detached(argv: Sequence[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start a background server: its own session, stdin and stdout away from us, stderr
    appended to ``log``."""

    import subprocess

    with open(log, "ab") as err:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=str(cwd),
            start_new_session=True,
            close_fds=True,
        )
