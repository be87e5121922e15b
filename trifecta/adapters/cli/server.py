"""The search server: ``ctx search`` and ``ctx get`` of one segment answered by a process
that stays (``trifecta ctx serve``), so a call costs the client's start and one round trip
instead of a whole command's start, settings, index opening and freshness stat pass.

The server runs the CLI's own ``main`` on the forwarded arguments, with this process's
open segment lent to the command (``output.LENDER``): the answer (stdout, stderr, exit
code) is the one the client would have printed itself. It declines (the client then runs
the command itself) whenever it could answer differently: another trifecta (version or
installation), other ``TRIFECTA_*`` settings, ``--config`` or a settings flag, another
segment, ``--sync``; and it stops when its own code changed on disk. A settings file that
changed is read again (the segment is opened anew).

One server per segment: an exclusive ``flock`` on ``_ctx/ctx.lock``; the socket
``_ctx/ctx.sock`` (mode 0600); a socket file left by a dead server is replaced. It exits
after ``search.server_idle_timeout_s`` without requests, on SIGTERM/SIGINT, on a
``stop`` request, or when its socket file is removed (``_ctx/`` deleted). Single-threaded:
requests are answered one at a time, in arrival order.

Wire format: one JSON object per line each way. Request ``{"v": 1, "op": "run", "argv":
[...], "cwd": "...", "env": {TRIFECTA_*, NO_COLOR}, "tty": [stdout, stderr], "version":
"...", "package": "..."}``; answer ``{"v": 1, "served": true, "exit": 0, "stdout": "...",
"stderr": "..."}`` or ``{"v": 1, "served": false, "reason": "..."}``. ``{"op": "status"}``
and ``{"op": "stop"}`` manage it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from trifecta.adapters.cli.forward import (
    HUNG_NAME,
    IN_SERVER,
    PROTOCOL,
    SOCKET_NAME,
    relevant_env,
)
from trifecta.adapters.unix_socket import connectable

if TYPE_CHECKING:
    import argparse

    from trifecta.api import Segment

LOCK_NAME = "ctx.lock"
PID_NAME = "ctx.pid"
LOG_NAME = "ctx.log"
MAX_LINE = 16 * 1024 * 1024  # the longest request line read (argv of many ids)
READ_REQUEST_S = 5.0  # a client that connected sends its request at once
FLUSH_EVERY_S = 30.0  # telemetry counters written at most this long after a request
SETTINGS_FILES = ("pyproject.toml", "_ctx/trifecta.toml")


def state_dir(root: Path) -> Path:
    return root / "_ctx"


def socket_path(root: Path) -> Path:
    return state_dir(root) / SOCKET_NAME


class AlreadyServing(Exception):
    """Another search server holds this segment's lock."""


class _Declined(BaseException):
    """Raised by the lender through the CLI's ``main`` (which catches ``Exception``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Captured(io.StringIO):
    """A command's stdout or stderr, a terminal or not as the client's is."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _lent(segment: Segment) -> Segment:
    """The open segment as a command may use it: the same composition root, but closing
    it (every handler does) closes nothing."""

    from trifecta.api import Segment

    class Lent(Segment):
        def close(self) -> None:
            return None

    return Lent.from_root(segment.container)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class CtxServer:
    """Serves one segment's ``ctx search`` / ``ctx get`` over ``_ctx/ctx.sock``."""

    def __init__(self, root: Path, idle_timeout_s: int | None = None) -> None:
        IN_SERVER[0] = True  # the commands this process runs are answered here
        self.root = root.resolve()
        self._dir = state_dir(self.root)
        self._env = relevant_env(os.environ)
        self._segment: Segment | None = None
        self._lent: Segment | None = None
        self._settings_stamps: list[tuple[int, int] | None] = []
        self._idle_timeout_s = idle_timeout_s
        self._lock_file: IO[bytes] | None = None
        self._listen: socket.socket | None = None
        self._running = False
        self._modules: dict[str, int | None] = {}
        self._started = time.monotonic()
        self._last_request = self._started
        self._flush_due: float | None = None
        self.requests = 0
        self.declined = 0
        self.stop_reason: str | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def acquire(self) -> None:
        """Open the segment, take its lock and bind the socket (replacing a stale one)."""

        self._open_segment()
        self._dir.mkdir(parents=True, exist_ok=True)
        lock = (self._dir / LOCK_NAME).open("ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise AlreadyServing("a search server already runs for this segment") from None
        self._lock_file = lock
        path = socket_path(self.root)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # we hold the lock: any socket file here is stale
        listen = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            with connectable(path) as address:
                listen.bind(address)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        listen.listen(64)
        self._listen = listen
        (self._dir / PID_NAME).write_text(f"{os.getpid()}\n")

    def idle_timeout_s(self) -> int:
        if self._idle_timeout_s is not None:
            return self._idle_timeout_s
        assert self._segment is not None
        return int(self._segment.settings["search"]["server_idle_timeout_s"])

    def serve(self) -> None:
        """Answer until idle, stopped, signalled or the socket file is gone."""

        if self._listen is None:
            self.acquire()
        assert self._listen is not None
        self._running = True
        previous = (
            {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
            if threading.current_thread() is threading.main_thread()
            else {}
        )
        selector = selectors.DefaultSelector()
        selector.register(self._listen, selectors.EVENT_READ)
        path = socket_path(self.root)
        try:
            while self._running:
                now = time.monotonic()
                if now - self._last_request > self.idle_timeout_s():
                    self.stop_reason = "idle"
                    break
                if not path.exists():
                    self.stop_reason = "socket removed"
                    break
                with contextlib.suppress(FileNotFoundError):
                    (self._dir / HUNG_NAME).unlink()  # answering again: clients may ask
                if self._flush_due is not None and now >= self._flush_due:
                    self._flush()
                if selector.select(timeout=0.5):
                    self._accept()
        finally:
            selector.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.close()

    def _on_signal(self, signum: int, frame: object) -> None:
        self._running = False
        self.stop_reason = f"signal {signum}"

    def close(self) -> None:
        self._running = False
        if self._listen is not None:
            self._listen.close()
            self._listen = None
            with contextlib.suppress(FileNotFoundError):
                socket_path(self.root).unlink()
            with contextlib.suppress(FileNotFoundError):
                (self._dir / PID_NAME).unlink()
        if self._segment is not None:
            self._segment.close()  # flushes telemetry
            self._segment = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    def _flush(self) -> None:
        self._flush_due = None
        if self._segment is not None:
            with contextlib.suppress(Exception):  # telemetry never stops the server
                self._segment.telemetry.flush()

    # ---- the segment ---------------------------------------------------------------------

    def _open_segment(self) -> None:
        """(Re)open the segment with the watched freshness check of a long-lived process."""

        from trifecta.api import Segment

        if self._segment is not None:
            self._segment.close()
        self._settings_stamps = [_stamp(self.root / name) for name in SETTINGS_FILES]
        self._segment = Segment(self.root, {"search": {"watch": True}})
        _ = self._segment.settings  # a bad settings file fails here, at start
        self._lent = _lent(self._segment)

    def _settings_moved(self) -> bool:
        return [_stamp(self.root / name) for name in SETTINGS_FILES] != self._settings_stamps

    def _code_moved(self) -> str | None:
        """The first of this process's trifecta modules whose file changed since it was
        first seen (a reinstall or an edit: this process would answer with old code)."""

        for name, module in list(sys.modules.items()):
            if not name.startswith("trifecta"):
                continue
            file = getattr(module, "__file__", None)
            if not isinstance(file, str):
                continue
            try:
                now: int | None = os.stat(file).st_mtime_ns
            except OSError:
                now = None
            seen = self._modules.setdefault(file, now)
            if seen != now:
                return file
        return None

    # ---- requests ------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listen is not None
        try:
            conn, _ = self._listen.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(READ_REQUEST_S)
            try:
                line = _read_line(conn)
                answer = self.handle(json.loads(line)) if line else None
            except (OSError, ValueError) as e:
                answer = {"v": PROTOCOL, "served": False, "reason": f"bad request: {e}"}
            if answer is None:
                return
            with contextlib.suppress(OSError):  # a client that left loses its answer
                conn.sendall(json.dumps(answer, ensure_ascii=False).encode() + b"\n")

    def handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return self._decline("bad request: not a JSON object")
        op = request.get("op")
        if op == "status":
            return {"v": PROTOCOL, "served": True, "status": self.status()}
        if op == "stop":
            self._running = False
            self.stop_reason = "stop requested"
            return {"v": PROTOCOL, "served": True, "stopping": True}
        if op != "run":
            return self._decline(f"unknown op {op!r}")
        self._last_request = time.monotonic()
        reason = self._refusal(request)
        if reason is not None:
            return self._decline(reason)
        try:
            code, out, err = self._run(
                [str(a) for a in request["argv"]],
                str(request["cwd"]),
                [bool(t) for t in request.get("tty", (False, False))],
                request["env"].get("NO_COLOR"),
            )
        except _Declined as e:
            return self._decline(e.reason)
        self.requests += 1
        if self._flush_due is None:
            self._flush_due = time.monotonic() + FLUSH_EVERY_S
        return {"v": PROTOCOL, "served": True, "exit": code, "stdout": out, "stderr": err}

    def _decline(self, reason: str) -> dict[str, Any]:
        self.declined += 1
        return {"v": PROTOCOL, "served": False, "reason": reason}

    def _refusal(self, request: dict[str, Any]) -> str | None:
        from trifecta import _version

        if request.get("v") != PROTOCOL:
            return "another protocol version"
        if request.get("version") != _version.__version__ or request.get("package") != str(
            Path(_version.__file__).parent
        ):
            return "another trifecta"
        if not isinstance(request.get("env"), dict) or request["env"] != self._env:
            return "other TRIFECTA_* settings"
        if not isinstance(request.get("argv"), list) or not isinstance(request.get("cwd"), str):
            return "bad request"
        moved = self._code_moved()
        if moved is not None:
            self._running = False
            self.stop_reason = "code changed"
            return f"trifecta changed on disk ({Path(moved).name})"
        if self._settings_moved():
            try:
                self._open_segment()
            except Exception as e:  # a broken settings file: the client reports it itself
                self._running = False
                self.stop_reason = "settings unreadable"
                return f"settings: {e}"
        assert self._segment is not None
        if self._segment.settings["search"]["server"] == "off":
            self._running = False
            self.stop_reason = "search.server is off"
            return "search.server is off"
        return None

    def _run(
        self, argv: list[str], cwd: str, tty: list[bool], no_color: str | None
    ) -> tuple[int, str, str]:
        """The CLI's ``main`` on ``argv`` as if run in ``cwd``, with our segment lent."""

        from trifecta.adapters.cli import main as cli_main
        from trifecta.adapters.cli import output

        lent = self._lent
        assert lent is not None
        root = str(self.root)

        def lend(ns: argparse.Namespace, flags: dict[str, Any]) -> Segment:
            if getattr(ns, "handler", "").rsplit(":", 1)[-1] not in ("run_search", "run_get"):
                raise _Declined("not a search or get")
            if ns.segment != root:
                raise _Declined("another segment")
            if ns.config is not None or flags:
                raise _Declined("settings given on the command line")
            if getattr(ns, "sync", False):
                raise _Declined("--sync")
            return lent

        out = _Captured(len(tty) > 0 and tty[0])
        err = _Captured(len(tty) > 1 and tty[1])
        with _redirected(cwd, out, err, no_color):
            output.LENDER = lend
            try:
                code = cli_main.main(argv)
            except SystemExit as e:  # argparse: --help, a usage error
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
            finally:
                output.LENDER = None
        return code, out.getvalue(), err.getvalue()

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "pid": os.getpid(),
            "segment": str(self.root),
            "uptime_s": round(now - self._started, 1),
            "idle_s": round(now - self._last_request, 1),
            "idle_timeout_s": self.idle_timeout_s(),
            "requests": self.requests,
            "declined": self.declined,
        }


@contextlib.contextmanager
def _redirected(cwd: str, out: IO[str], err: IO[str], no_color: str | None) -> Iterator[None]:
    try:
        before = os.getcwd()
    except OSError:
        before = "/"
    try:
        os.chdir(cwd)
    except OSError as e:
        raise _Declined(f"cwd: {e.strerror}") from None
    saved_out, saved_err = sys.stdout, sys.stderr
    saved_color = os.environ.get("NO_COLOR")
    _set_env("NO_COLOR", no_color)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        _set_env("NO_COLOR", saved_color)
        with contextlib.suppress(OSError):
            os.chdir(before)


def _set_env(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def _read_line(conn: socket.socket) -> bytes:
    """One request line (or what came before the client closed)."""

    data = b""
    while b"\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE:
            raise ValueError("request too long")
    return data.split(b"\n", 1)[0]
