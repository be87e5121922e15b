"""The search server: ``ctx search`` and ``ctx get`` of one segment answered by a process
that stays (``trifecta ctx serve``), so a call costs the client's start and one round trip
instead of a whole command's start, settings, index opening and freshness stat pass.

The server runs the CLI's own ``main`` on the forwarded arguments, with this process's
open segment lent to the command (``output.LENDER``): the answer (stdout, stderr, exit
code) is the one the client would have printed itself. It declines (the client then runs
the command itself) whenever it could answer differently: another trifecta (version or
installation), another environment (``TRIFECTA_*``, ``OTEL_*``, ``NO_COLOR``, ``HOME``,
``USER``, ``LOGNAME``), ``--config`` or a settings flag, another segment, ``--sync``,
``--debug``, help and usage errors; and it stops when its own code changed on disk. A
settings file that changed is read again (the segment is opened anew).

One server per segment: an exclusive ``flock`` on ``_ctx/ctx.lock``; the socket
``_ctx/ctx.sock`` (mode 0600); a socket file left by a dead server is replaced. It exits
after ``search.server_idle_timeout_s`` without requests, on SIGTERM/SIGINT, on a
``stop`` request, or when its socket file is removed (``_ctx/`` deleted). Single-threaded:
requests are answered one at a time, in arrival order.

Wire format: one JSON object per line each way. Request ``{"v": 1, "op": "run", "argv":
[...], "cwd": "...", "env": {...}, "tty": [stdout, stderr], "codecs": [[encoding, errors],
[encoding, errors]], "version": "...", "package": "..."}`` (``env``: ``relevant_env``);
answer ``{"v": 1, "served": true, "exit": 0, "writes": [[1 or 2, "text"], ...]}`` (stdout
and stderr writes in their order) or ``{"v": 1, "served": false, "reason": "..."}``.
``{"op": "status"}`` and ``{"op": "stop"}`` manage it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from trifecta.adapters.cli.forward import (
    HUNG_NAME,
    IN_SERVER,
    LOCK_NAME,
    OWN_SETTINGS,
    PID_NAME,
    PROTOCOL,
    SOCKET_NAME,
    relevant_env,
)
from trifecta.adapters.unix_socket import bind_private, take_lock
from trifecta.domain.errors import LockTimeout, TrifectaError

if TYPE_CHECKING:
    import argparse

    from trifecta.api import Segment

MAX_LINE = 16 * 1024 * 1024  # the longest request line read (argv of many ids)
READ_REQUEST_S = 5.0  # a client that connected sends its request at once
FLUSH_EVERY_S = 30.0  # telemetry counters written at most this long after a request
SETTINGS_FILES = ("pyproject.toml", "_ctx/trifecta.toml")


def state_dir(root: Path) -> Path:
    return root / "_ctx"


def socket_path(root: Path) -> Path:
    return state_dir(root) / SOCKET_NAME


class AlreadyServing(LockTimeout):
    """Another search server holds this segment's lock."""


class CannotServe(TrifectaError):
    """The server's files in ``_ctx/`` cannot be made (read-only, a name taken by a
    directory, a full disk...)."""


class _Declined(BaseException):
    """Raised by the lender through the CLI's ``main`` (which catches ``Exception``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Captured(io.StringIO):
    """A command's stdout (1) or stderr (2) as the client's is: a terminal or not, with its
    encoding (text it cannot hold fails here as it would there); every write lands in one
    list shared by both, in order."""

    def __init__(
        self, fd: int, tty: bool, codec: tuple[str, str], writes: list[tuple[int, str]]
    ) -> None:
        super().__init__()
        self._fd, self._tty, self._codec, self._writes = fd, tty, codec, writes

    def isatty(self) -> bool:
        return self._tty

    def write(self, text: str) -> int:
        if text:
            text.encode(*self._codec)  # UnicodeEncodeError, as the client's stream would
            self._writes.append((self._fd, text))
        return len(text)


def _lent(segment: Segment) -> Segment:
    """The open segment as a command may use it: the same composition root, but closing
    it (every handler does) closes nothing."""

    from trifecta.api import Segment

    class Lent(Segment):
        def close(self) -> None:
            return None

    return Lent.from_root(segment.container)


def _stamp(path: str | Path) -> tuple[int, int] | None:
    """(size, mtime) of a file, None when it is gone."""

    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class CtxServer:
    """Serves one segment's ``ctx search`` / ``ctx get`` over ``_ctx/ctx.sock``."""

    def __init__(self, root: Path, idle_timeout_s: int | None = None) -> None:
        from trifecta.adapters.cli import main as cli_main

        IN_SERVER[0] = True  # the commands this process runs are answered here
        cli_main.PARSERS = {}  # and parse with parsers built once
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
        self._code: dict[str, tuple[int, int] | None] = {}
        self._socket_id: tuple[int, int] | None = None
        self._started = time.monotonic()
        self._last_request = self._started
        self._flush_due: float | None = None
        self.requests = 0
        self.declined = 0
        self.stop_reason: str | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the segment's lock, open the segment and bind the socket (replacing a stale
        one). The lock comes first: a second server started at the same moment fails at
        once, before any work."""

        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            lock = take_lock(self._dir / LOCK_NAME)
        except OSError as e:
            raise CannotServe(f"cannot take _ctx/{LOCK_NAME}: {e.strerror or e}") from e
        if lock is None:
            raise AlreadyServing("a search server already runs for this segment")
        self._lock_file = lock
        self._code = _package_stamps()  # before any of the package is imported for a call
        self._open_segment()
        path = socket_path(self.root)
        try:
            listen = bind_private(path, 64)  # we hold the lock: any socket file is stale
            self._listen = listen
            self._socket_id = _identity(path)
            (self._dir / PID_NAME).write_text(f"{os.getpid()}\n")
        except OSError as e:
            raise CannotServe(f"cannot serve on _ctx/{SOCKET_NAME}: {e.strerror or e}") from e
        self._last_request = time.monotonic()  # the idle clock starts when it can be called

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
                if _identity(path) != self._socket_id:
                    self.stop_reason = "socket removed"  # _ctx/ deleted, or another server's
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
            if _identity(socket_path(self.root)) == self._socket_id:  # not a later server's
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
        """The first file of trifecta's package that changed since this server started (a
        reinstall or an edit: this process would answer with old code), or None."""

        now = _package_stamps()
        if now == self._code:
            return None
        changed = [f for f in sorted(set(now) | set(self._code)) if now.get(f) != self._code.get(f)]
        return changed[0] if changed else None

    # ---- requests ------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listen is not None
        try:
            conn, _ = self._listen.accept()
        except OSError:
            return
        with conn:
            if not _same_user(conn):
                return  # only our own user's processes are served (the socket is 0600 too)
            try:
                line = _read_line(conn, time.monotonic() + READ_REQUEST_S)
                answer = self.handle(json.loads(line), lambda: _gone(conn)) if line else None
            except Exception as e:  # one bad request never ends the server
                answer = self._decline(f"bad request: {type(e).__name__}")
            if answer is None:
                return
            with contextlib.suppress(OSError):  # a client that left loses its answer
                conn.settimeout(READ_REQUEST_S)
                conn.sendall(json.dumps(answer, ensure_ascii=False).encode() + b"\n")

    def handle(self, request: Any, gone: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Answer one request; ``gone`` tells whether its client has left meanwhile (a
        command queued behind a slow one is not run for nobody: the client answered it)."""

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
        reason = self._refusal(request)
        if reason is not None:
            return self._decline(reason)
        if gone is not None and gone():
            return self._decline("the client left")
        tty = request.get("tty")
        try:
            code, writes = self._run(
                [str(a) for a in request["argv"]],
                request["cwd"],
                (bool(tty[0]), bool(tty[1]))
                if isinstance(tty, list) and len(tty) == 2
                else (False, False),
                request["env"].get("NO_COLOR"),
                _codecs(request.get("codecs")),
            )
        except _Declined as e:
            return self._decline(e.reason)
        self.requests += 1
        self._last_request = time.monotonic()  # only served calls keep the server alive
        if self._flush_due is None:
            self._flush_due = time.monotonic() + FLUSH_EVERY_S
        return {"v": PROTOCOL, "served": True, "exit": code, "writes": writes}

    def _decline(self, reason: str) -> dict[str, Any]:
        self.declined += 1
        return {"v": PROTOCOL, "served": False, "reason": reason}

    def _refusal(self, request: dict[str, Any]) -> str | None:
        from trifecta import _version

        moved = self._code_moved()  # first: an upgraded install must not keep old code up
        if moved is not None:
            self._running = False
            self.stop_reason = "code changed"
            return f"trifecta changed on disk ({Path(moved).name})"
        if request.get("v") != PROTOCOL:
            return "another protocol version"
        if request.get("package") != str(Path(_version.__file__).parent):
            return "another trifecta installation"
        if request.get("version") != _version.__version__:
            return "another trifecta version"
        env = request.get("env")
        if not isinstance(env, dict) or _answering(env) != _answering(self._env):
            return "another environment (TRIFECTA_*, OTEL_*, NO_COLOR, HOME, USER, LOGNAME)"
        if not _own_settings_valid(env):
            return "invalid TRIFECTA_SEARCH_SERVER* settings"
        if not isinstance(request.get("argv"), list) or not isinstance(request.get("cwd"), str):
            return "bad request"
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
        self,
        argv: list[str],
        cwd: str,
        tty: tuple[bool, bool],
        no_color: str | None,
        codecs: tuple[tuple[str, str], tuple[str, str]],
    ) -> tuple[int, list[tuple[int, str]]]:
        """The CLI's ``main`` on ``argv`` as if run in ``cwd``, with our segment lent: the
        exit code and the writes to stdout (1) and stderr (2) in their order. Anything the
        command could print differently here (help and usage errors, which argparse wraps
        to the terminal's width; ``--debug``'s tracebacks) or that fails unexpectedly is
        declined: the client runs it itself."""

        from trifecta.adapters.cli import main as cli_main
        from trifecta.adapters.cli import output

        lent = self._lent
        assert lent is not None and self._segment is not None
        root = str(self.root)

        def lend(ns: argparse.Namespace, flags: dict[str, Any]) -> Segment:
            if getattr(ns, "handler", "").rsplit(":", 1)[-1] not in ("run_search", "run_get"):
                raise _Declined("not a search or get")
            if ns.segment != root:
                raise _Declined("another segment")
            if ns.config is not None or flags:
                raise _Declined("settings given on the command line")
            if getattr(ns, "sync", False) or getattr(ns, "debug", False):
                raise _Declined("--sync or --debug")
            return lent

        writes: list[tuple[int, str]] = []
        out = _Captured(1, tty[0], codecs[0], writes)
        err = _Captured(2, tty[1], codecs[1], writes)
        with _redirected(cwd, out, err, no_color):
            output.LENDER = lend
            try:
                code = cli_main.main(argv)
            except SystemExit as e:  # argparse: --help, a usage error
                raise _Declined(f"argparse exit {e.code}") from None
            except Exception as e:  # main lets it through here: this process may be broken
                self._running = False
                self.stop_reason = f"failed: {type(e).__name__}"
                raise _Declined(f"failed here: {type(e).__name__}") from None
            finally:
                output.LENDER = None
        return code, writes

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


def _read_line(conn: socket.socket, deadline: float) -> bytes:
    """One request line (or what came before the client closed), by ``deadline``: a client
    that connects and says nothing holds the server up for at most that long."""

    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no request in time")
        conn.settimeout(left)
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE:
            raise ValueError("request too long")
    return data.split(b"\n", 1)[0]


def _gone(conn: socket.socket) -> bool:
    """Has the client closed its end (it gave up waiting and answered itself)?"""

    try:
        conn.setblocking(False)
        try:
            return conn.recv(1, socket.MSG_PEEK) == b""
        finally:
            conn.setblocking(True)
    except BlockingIOError:
        return False
    except OSError:
        return True


def _same_user(conn: socket.socket) -> bool:
    """Is the connecting process our own user's (``SO_PEERCRED``, Linux)?"""

    cred = getattr(socket, "SO_PEERCRED", None)
    if cred is None:
        return True  # the socket's mode (0600) is the guard there
    try:
        raw = conn.getsockopt(socket.SOL_SOCKET, cred, struct.calcsize("3i"))
    except OSError:
        return False
    _pid, uid, _gid = struct.unpack("3i", raw)
    return bool(uid == os.geteuid())


def _codecs(given: Any) -> tuple[tuple[str, str], tuple[str, str]]:
    """The client's (encoding, errors) of stdout and stderr; UTF-8 strict when unreadable
    or unknown to this Python (the client then checks the answer itself)."""

    import codecs

    out: list[tuple[str, str]] = []
    for i in (0, 1):
        try:
            encoding, errors = str(given[i][0]), str(given[i][1])
            codecs.lookup(encoding)
            codecs.lookup_error(errors)
        except (TypeError, IndexError, KeyError, LookupError):
            encoding, errors = "utf-8", "strict"
        out.append((encoding, errors))
    return out[0], out[1]


def _answering(env: dict[str, Any]) -> dict[str, Any]:
    """The environment but the server's own settings (they change no answer)."""

    return {k: v for k, v in env.items() if not str(k).startswith(OWN_SETTINGS)}


def _own_settings_valid(env: dict[str, Any]) -> bool:
    """Would the client's ``TRIFECTA_SEARCH_SERVER*`` variables load? (Invalid ones fail the
    command there: it must run there.)"""

    from trifecta.application.settings import env_layer, merge_settings
    from trifecta.domain.errors import ConfigError

    own = {str(k): str(v) for k, v in env.items() if str(k).startswith(OWN_SETTINGS)}
    try:
        merge_settings(env_layer(own))
    except ConfigError:
        return False
    return True


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the socket file, None when it is gone."""

    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _package_files() -> list[str]:
    """The installed trifecta package's ``.py`` files (not its directories: Python writing
    a ``__pycache__/`` moves a directory's mtime; an upgrade rewrites ``_version.py``)."""

    from trifecta import _version

    out: list[str] = []
    for directory, dirs, files in os.walk(os.path.dirname(_version.__file__)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        out.extend(os.path.join(directory, name) for name in files if name.endswith(".py"))
    return out


_PACKAGE: list[str] = []


def _package_stamps() -> dict[str, tuple[int, int] | None]:
    """(size, mtime) of every ``.py`` file of the installed trifecta package, as listed when
    the server started."""

    if not _PACKAGE:
        _PACKAGE.extend(_package_files())
    return {path: _stamp(path) for path in _PACKAGE}
