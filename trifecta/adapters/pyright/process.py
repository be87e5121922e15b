"""The one module that touches ``subprocess``: spawn a language server in its own process
group, drain its stderr, and make sure no process of that group outlives us.

Three guards, because the launcher (``pyright-langserver``, a Python script) runs ``node``
as its child:

1. ``start_new_session=True``: the server and everything it starts share one process group,
   which ``stop`` terminates (SIGTERM, bounded wait, SIGKILL, bounded wait).
2. ``PR_SET_PDEATHSIG`` (Linux, via ctypes in ``preexec_fn``): the launcher gets SIGKILL if
   the thread that spawned it dies, even by SIGKILL. Its child ``node`` then sees EOF on
   stdin and the ``processId`` watchdog of the LSP session (our pid, checked by the server).
3. An ``atexit`` hook and SIGTERM/SIGHUP handlers kill every live group on a normal exit
   or a polite kill.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

from trifecta.domain.errors import LanguageServerUnavailable

PR_SET_PDEATHSIG = 1
STDERR_TAIL_LINES = 20

_live: set[ServerProcess] = set()
_live_lock = threading.Lock()
_guards_installed = False


def find_executable(name: str) -> str | None:
    """``name`` next to the running interpreter (the venv's bin), else on PATH."""

    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def _pdeathsig_preexec() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    return preexec


def _kill_all_live() -> None:
    with _live_lock:
        processes = list(_live)
    for process in processes:
        process.kill_group()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _kill_all_live()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_guards() -> None:
    global _guards_installed
    if _guards_installed:
        return
    _guards_installed = True
    atexit.register(_kill_all_live)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _on_signal)


class ServerProcess:
    """A running language-server process group with piped stdin/stdout."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        _install_guards()
        try:
            self._popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=str(cwd),
                env=env,
                start_new_session=True,
                preexec_fn=_pdeathsig_preexec(),
                bufsize=0,
            )
        except OSError as e:
            raise LanguageServerUnavailable(
                f"cannot start {Path(argv[0]).name}: {e.strerror or e}"
            ) from e
        self.pid = self._popen.pid
        self.pgid = self.pid  # start_new_session makes the child a group leader
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        with _live_lock:
            _live.add(self)
        self._drain = threading.Thread(target=self._drain_stderr, name="lsp-stderr", daemon=True)
        self._drain.start()

    @property
    def stdin(self) -> IO[bytes]:
        assert self._popen.stdin is not None
        return self._popen.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self._popen.stdout is not None
        return self._popen.stdout

    def _drain_stderr(self) -> None:
        stream = self._popen.stderr
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for raw in stream:
                self.stderr_tail.append(raw.decode("utf-8", "replace").rstrip()[:300])

    def alive(self) -> bool:
        return self._popen.poll() is None

    def returncode(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout_s: float) -> bool:
        try:
            self._popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _signal_group(self, signum: int) -> bool:
        try:
            os.killpg(self.pgid, signum)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def group_alive(self) -> bool:
        """Is any running (non-zombie) process of the group still there?"""

        return bool(group_members(self.pgid)) if _HAS_PROC else self._signal_group(0)

    def kill_group(self) -> None:
        self._signal_group(signal.SIGKILL)
        self.wait(1.0)
        self._forget()

    def stop(
        self, grace_s: float = 1.0, term_wait_s: float = 1.0, kill_wait_s: float = 1.0
    ) -> None:
        """After a polite ``exit``: wait ``grace_s`` for the group to go, then SIGTERM it and
        wait, then SIGKILL what is left and wait; finally close our pipe ends."""

        if not self._wait_group(grace_s):
            self._signal_group(signal.SIGTERM)
            if not self._wait_group(term_wait_s):
                self._signal_group(signal.SIGKILL)
                self._wait_group(kill_wait_s)
        self._forget()

    def _wait_group(self, timeout_s: float) -> bool:
        deadline = _now() + timeout_s
        self.wait(timeout_s)
        while self.group_alive():
            if _now() >= deadline:
                return False
            threading.Event().wait(0.02)
        return True

    def _forget(self) -> None:
        with _live_lock:
            _live.discard(self)
        for stream in (self._popen.stdin, self._popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        self._drain.join(0.5)
        if self._popen.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                self._popen.stderr.close()


def _now() -> float:
    return time.monotonic()  # a bounded wait, not a measured duration


_HAS_PROC = os.path.isdir("/proc/self")


def group_members(pgid: int) -> list[int]:
    """Pids of running (not zombie) processes in process group ``pgid`` (Linux /proc)."""

    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            members.append(int(name))
    return members


def live_process_groups() -> list[int]:
    """Process-group ids this process still holds (for tests and ``lsp status``)."""

    with _live_lock:
        return [p.pgid for p in _live]
