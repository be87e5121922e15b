"""``DaemonLanguageServer``: the ``LanguageServer`` port, answered by the segment's warm
server over its Unix socket. The application cannot tell it from an in-process pyright.

When no warm server answers, ``start`` launches one in the background (if ``autostart``)
and raises ``LanguageServerCold`` at once, so the caller answers from the fallback now and
the next call is warm. ``wait_ready`` waits for a server that is still coming up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trifecta.adapters.lsp_daemon import protocol
from trifecta.adapters.unix_socket import launch_detached
from trifecta.domain.errors import (
    LanguageServerCold,
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerTimeout,
    LanguageServerUnavailable,
)
from trifecta.domain.model import LspFacts, SymbolLocation
from trifecta.domain.ports import Clock, LanguageServer

Listener = Callable[[str, Mapping[str, Any]], None]
CALL_MARGIN_MS = 250  # socket deadline beyond the request's own deadline
START_WAIT_MS = 500  # a warm server answers "start" at once; one that does not is hung/busy
TERM_GRACE_MS = 1_000  # after SIGTERM, before SIGKILL


def serve_argv(root: Path) -> list[str]:
    """The command that runs a segment's warm server in the foreground (``-P``: its working
    directory, the segment, never shadows a module: a segment's ``json.py`` or ``typing/``
    would otherwise be imported in place of the standard library's)."""

    return [sys.executable, "-P", "-m", "trifecta", "--segment", str(root), "lsp", "serve"]


def launch_daemon(root: Path, argv: Sequence[str] | None = None) -> subprocess.Popen[bytes]:
    """Start the warm server detached (own session, stdio away from us, log in ``_ctx``)."""

    state = protocol.state_dir(root)
    state.mkdir(parents=True, exist_ok=True)
    process = launch_detached(argv or serve_argv(root), state / protocol.LOG_NAME, root)
    threading.Thread(target=process.wait, daemon=True).start()  # reap it if it exits early
    return process


class DaemonLanguageServer(LanguageServer):
    def __init__(
        self,
        root: Path,
        clock: Clock,
        autostart: bool = True,
        launcher: Callable[[Path], object] = launch_daemon,
        connect_timeout_ms: int = 1_000,
    ) -> None:
        self.root = root.resolve()
        self._clock = clock
        self._autostart = autostart
        self._launcher = launcher
        self._connect_timeout_ms = connect_timeout_ms
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._started = False  # "start" sent on this connection
        self.launched = False
        self._process: object = None  # what the launcher returned (a Popen when real)

    # ---- connection ----------------------------------------------------------------------

    def _connect(self) -> bool:
        path = protocol.socket_path(self.root)
        if not path.exists():
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._connect_timeout_ms / 1000)
        try:
            with protocol.connectable(path) as address:
                sock.connect(address)
        except OSError:
            sock.close()
            return False  # a stale socket: the next server replaces it
        self._sock = sock
        self._file = sock.makefile("rb")
        return True

    def _call(self, op: str, wait_ms: int = 1_000, args: dict[str, Any] | None = None) -> Any:
        if self._sock is None and not self._connect():
            raise LanguageServerCold("no warm language server is running for this segment")
        assert self._sock is not None
        try:
            self._sock.settimeout((wait_ms + CALL_MARGIN_MS) / 1000)
            self._sock.sendall(protocol.encode({"op": op, "args": args or {}}))
            line = self._file.readline(protocol.MAX_LINE)
            if not line:
                raise OSError("the warm server closed the connection")
            answer = protocol.decode(line)
        except TimeoutError as e:
            self.close()
            raise LanguageServerTimeout(
                f"the warm language server did not answer {op} within {wait_ms} ms (hung or busy)"
            ) from e
        except (OSError, ValueError) as e:
            self.close()
            raise LanguageServerCrashed(f"the warm language server stopped answering ({e})") from e
        if answer.get("ok"):
            return answer.get("result")
        raise protocol.error_from_wire(str(answer.get("error")), str(answer.get("message")))

    def launch(self) -> None:
        """Start a warm server in the background (it exits at once if one runs already)."""

        try:
            with contextlib.suppress(FileNotFoundError):
                (protocol.state_dir(self.root) / protocol.FAILED_NAME).unlink()
            self._process = self._launcher(self.root)
        except OSError as e:  # a read-only _ctx: no warm server, the caller falls back
            raise LanguageServerUnavailable(
                f"cannot start the warm language server: _ctx is not writable ({e.strerror})"
            ) from e
        self.launched = True

    def failure(self, fresh_s: float | None = protocol.FAILED_FRESH_S) -> str | None:
        """Why the last warm server could not start pyright (``_ctx/lsp.failed``), if that
        is recent (``fresh_s``; None: however old)."""

        path = protocol.state_dir(self.root) / protocol.FAILED_NAME
        try:
            age = self._clock.epoch_s() - path.stat().st_mtime  # a file's age: wall time
            text = path.read_text(errors="replace").strip()
        except OSError:
            return None
        if fresh_s is not None and age > fresh_s:
            return None
        return text.splitlines()[0] if text else "pyright could not be started"

    def _launch_ended(self) -> bool:
        process = self._process
        return isinstance(process, subprocess.Popen) and process.poll() is not None

    def close(self) -> None:
        for thing in (self._file, self._sock):
            if thing is not None:
                with contextlib.suppress(OSError):
                    thing.close()
        self._file = self._sock = None
        self._started = False

    def running(self) -> bool:
        if self._sock is not None:
            return True
        try:
            self._call("ping")
        except LanguageServerError:
            return False
        return True

    # ---- the port ------------------------------------------------------------------------

    def start(self, listener: Listener | None = None) -> None:
        """Connect to the warm server (lifecycle telemetry is recorded by the server
        itself); launch one and raise ``LanguageServerCold`` when there is none."""

        if self._sock is not None or self._connect():
            # Bounded like the request: a stopped or wedged server makes the caller fall
            # back now (lsp_timeout), not after pyright's own start-up allowance.
            self._call("start", START_WAIT_MS)
            self._started = True
            return
        failure = self.failure()
        if failure is not None:  # relaunching now would fail the same way
            raise LanguageServerUnavailable(failure)
        if self._autostart and not self.launched:
            self.launch()
        raise LanguageServerCold(
            "no warm language server yet"
            + ("; one is starting for the next call" if self.launched else ""),
            starting=self.launched,
        )

    def crashed(self) -> bool:
        """The warm server replaces its own pyright; a lost connection is reported by the
        failing call as ``LanguageServerCrashed``."""

        return False

    def facts(self) -> LspFacts:
        try:
            return protocol.facts_from_wire(self._call("facts"))
        except LanguageServerError:
            return LspFacts()

    def wait_ready(self, timeout_ms: int) -> bool:
        deadline = self._clock.monotonic_ns() + timeout_ms * 1_000_000
        while self._sock is None and not self._connect():
            if self._launch_ended() and not self._connect():
                raise LanguageServerUnavailable(
                    self.failure(None) or "the warm language server exited at start"
                )
            if self._clock.monotonic_ns() >= deadline:
                return False
            threading.Event().wait(0.05)
        if not self._started:
            self._call("start", self._left_ms(deadline))
            self._started = True
        left_ms = self._left_ms(deadline)
        return bool(self._call("wait_ready", left_ms, {"timeout_ms": left_ms}))

    def _left_ms(self, deadline_ns: int) -> int:
        return int(max(0, (deadline_ns - self._clock.monotonic_ns()) // 1_000_000))

    def definition(
        self, path: str, line: int, column: int, timeout_ms: int
    ) -> list[SymbolLocation]:
        args = {"path": path, "line": line, "column": column, "timeout_ms": timeout_ms}
        found = self._call("definition", timeout_ms, args)
        return [protocol.location_from_wire(item) for item in found]

    def document_symbols(self, path: str, timeout_ms: int) -> list[SymbolLocation]:
        args = {"path": path, "timeout_ms": timeout_ms}
        found = self._call("document_symbols", timeout_ms, args)
        return [protocol.location_from_wire(item) for item in found]

    def shutdown(self) -> None:
        """Leave the warm server running (that is its point); close our connection."""

        self.close()

    # ---- management (lsp start/status/stop) ----------------------------------------------

    def status(self) -> dict[str, Any] | None:
        """The server's own status; for a server whose process lives but does not answer
        (stopped, wedged) ``{"pid": ..., "answering": False}``; None when none runs."""

        try:
            result = self._call("status")
        except LanguageServerError:
            pid = self._pid()
            if pid is not None and _alive(pid):
                return {"pid": pid, "answering": False, "state": _state_name(pid)}
            return None
        return {**result, "answering": True} if isinstance(result, dict) else None

    def stop_server(self, wait_ms: int = 10_000) -> bool:
        """Ask the warm server to stop; if it does not answer or does not exit within
        ``wait_ms``, SIGTERM it (with a SIGCONT, in case it is stopped), then SIGKILL it
        and the process groups of its children (pyright) after a short grace."""

        pid = self._pid()
        try:
            self._call("stop")
            answered = True
        except LanguageServerError:
            answered = False
            if pid is None or not _alive(pid):
                return False  # nothing was running (a stale pid file at most)
        self.close()
        if pid is None:
            return answered
        children = _child_groups(pid)
        if answered:
            self._wait_gone(pid, wait_ms)
        if _alive(pid):
            for signum in (signal.SIGTERM, signal.SIGCONT):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)
            self._wait_gone(pid, TERM_GRACE_MS)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, TERM_GRACE_MS)
        for group in children:  # pyright follows its parent by itself; make sure of it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        return not _alive(pid)

    def _wait_gone(self, pid: int, wait_ms: int) -> None:
        deadline = self._clock.monotonic_ns() + wait_ms * 1_000_000
        while _alive(pid) and self._clock.monotonic_ns() < deadline:
            threading.Event().wait(0.02)

    def _pid(self) -> int | None:
        try:
            return int((protocol.state_dir(self.root) / protocol.PID_NAME).read_text().strip())
        except (OSError, ValueError):
            return None


def _state_name(pid: int) -> str:
    state = _proc_state(pid)
    return {"T": "stopped", "t": "stopped", "D": "blocked", "Z": "exited"}.get(
        state, "not answering"
    )


def _proc_state(pid: int) -> str:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return ""
    return data[data.rfind(b")") + 2 :].split()[:1][0].decode() if b")" in data else ""


def _child_groups(pid: int) -> list[int]:
    """Process groups (other than ``pid``'s own) of ``pid``'s direct children (Linux)."""

    groups = set()
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            data = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[1]) == pid and int(fields[2]) != pid:
            groups.add(int(fields[2]))
    return sorted(groups)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError):
            data = stat.read_bytes()
            return data[data.rfind(b")") + 2 : data.rfind(b")") + 3] != b"Z"
    return True
