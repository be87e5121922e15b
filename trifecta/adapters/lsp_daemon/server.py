"""The warm server: one language server per segment behind a Unix socket.

Single-threaded on purpose: every call into the language server happens on the main
thread (the thread that spawned pyright, which its parent-death signal is tied to), and
requests are ~1 ms once warm. One instance per segment is guaranteed by an exclusive
``flock`` on ``_ctx/lsp.lock``; a socket file left by a dead server is replaced. The server
exits after ``idle_timeout_s`` without requests, on ``stop``, or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from trifecta.adapters.lsp_daemon import protocol
from trifecta.adapters.unix_socket import bind_private, take_lock
from trifecta.domain.errors import (
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerTimeout,
    LanguageServerUnavailable,
    LockTimeout,
)
from trifecta.domain.ports import Clock, LanguageServer

Listener = Callable[[str, Mapping[str, Any]], None]
HUNG_AFTER_TIMEOUTS = 3  # consecutive timed-out requests before pyright is replaced


class AlreadyRunning(LockTimeout):
    """Another warm server holds this segment's lock."""


class LspDaemon:
    """Serves one ``LanguageServer`` over ``<segment>/_ctx/lsp.sock`` (mode 0600)."""

    def __init__(
        self,
        root: Path,
        server: LanguageServer,
        clock: Clock,
        idle_timeout_s: int = 600,
        listener: Listener | None = None,
    ) -> None:
        self.root = root.resolve()
        self._server = server
        self._clock = clock
        self._idle_timeout_ns = idle_timeout_s * 1_000_000_000
        self._listener = listener
        self._dir = protocol.state_dir(self.root)
        self._lock_file: IO[bytes] | None = None
        self._listen: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._buffers: dict[socket.socket, bytes] = {}
        self._last_request_ns = clock.monotonic_ns()
        self._started_ns = clock.monotonic_ns()
        self._running = False
        self._timeouts = 0  # consecutive request timeouts
        self.requests = 0
        self.restarts = 0
        self.failure: str | None = None  # why pyright cannot be started (then we exit)
        self._cleared = False  # an old failure record removed
        self._respawn = False  # pyright died: start a new one after answering

    # ---- lifecycle -----------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the segment's lock and bind the socket (replacing a stale one)."""

        self._dir.mkdir(parents=True, exist_ok=True)
        lock = take_lock(self._dir / protocol.LOCK_NAME)
        if lock is None:
            raise AlreadyRunning("a warm language server already runs for this segment")
        self._lock_file = lock
        # we hold the lock: any socket file there is stale
        listen = bind_private(protocol.socket_path(self.root), 16)
        listen.setblocking(False)
        self._listen = listen
        self._selector.register(listen, selectors.EVENT_READ)
        (self._dir / protocol.PID_NAME).write_text(f"{os.getpid()}\n")

    def serve(self) -> None:
        """Start the language server, then answer until idle, stopped or signalled."""

        if self._listen is None:
            self.acquire()
        self._running = True
        previous = (
            {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
            if threading.current_thread() is threading.main_thread()
            else {}
        )
        try:
            try:
                self._server.start(self._listener)  # warm up now
            except LanguageServerUnavailable as e:
                self._unavailable(e)  # no pyright to serve: a useless server does not stay
            except LanguageServerError:
                pass  # e.g. a crash while starting: retried on the next request
            else:
                self._available()
            while self._running:
                if self._clock.monotonic_ns() - self._last_request_ns > self._idle_timeout_ns:
                    break
                for key, _ in self._selector.select(timeout=0.5):
                    if key.fileobj is self._listen:
                        self._accept()
                    else:
                        conn = key.fileobj
                        assert isinstance(conn, socket.socket)
                        self._read(conn)
                if self._respawn:
                    self._replace_crashed()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.close()
        if self.failure is not None:
            raise LanguageServerUnavailable(self.failure)

    def _replace_crashed(self) -> None:
        """Start a new pyright for a crashed one, after the call that found the crash was
        answered (from the fallback); on this thread, the one pyright's life is tied to."""

        self._respawn = False
        try:
            self._server.start(self._listener)
        except LanguageServerUnavailable as e:
            self._unavailable(e)
        except LanguageServerError:
            pass  # tried again by the next call's start

    def _unavailable(self, error: LanguageServerUnavailable) -> None:
        """Pyright cannot be started: record why (for ``lsp start`` and the next calls,
        which answer ``lsp_unavailable`` for a while instead of relaunching) and stop."""

        self.failure = str(error).splitlines()[0] if str(error) else "pyright unavailable"
        self._running = False
        with contextlib.suppress(OSError):
            (self._dir / protocol.FAILED_NAME).write_text(self.failure + "\n")

    def _available(self) -> None:
        if not self._cleared:
            self._cleared = True
            with contextlib.suppress(FileNotFoundError):
                (self._dir / protocol.FAILED_NAME).unlink()

    def _on_signal(self, signum: int, frame: object) -> None:
        self._running = False

    def request_stop(self) -> None:
        """Stop serving at the next loop turn (within ~0.5 s)."""

        self._running = False

    def close(self) -> None:
        self._running = False
        for conn in list(self._buffers):
            self._drop(conn)
        if self._listen is not None:
            self._selector.unregister(self._listen)
            self._listen.close()
            self._listen = None
            with contextlib.suppress(FileNotFoundError):
                protocol.socket_path(self.root).unlink()
            with contextlib.suppress(FileNotFoundError):
                (self._dir / protocol.PID_NAME).unlink()
        self._server.shutdown()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    # ---- connections ---------------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listen is not None
        try:
            conn, _ = self._listen.accept()
        except BlockingIOError:
            return
        conn.setblocking(True)
        self._buffers[conn] = b""
        self._selector.register(conn, selectors.EVENT_READ)

    def _drop(self, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn)
        self._buffers.pop(conn, None)
        conn.close()

    def _read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        buffer = self._buffers.get(conn, b"") + data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            answer = self._handle(line)
            try:
                conn.sendall(protocol.encode(answer))
            except OSError:
                self._drop(conn)
                return
        if len(buffer) > protocol.MAX_LINE:
            self._drop(conn)
            return
        self._buffers[conn] = buffer

    # ---- requests ------------------------------------------------------------------------

    def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            message = protocol.decode(line)
            op = str(message.get("op"))
            args = message.get("args") or {}
            if op not in ("ping", "status"):  # looking at the server is not using it
                self._last_request_ns = self._clock.monotonic_ns()
                self.requests += 1
            result = self._dispatch(op, args)
            if op in ("definition", "document_symbols"):
                self._timeouts = 0
            return {"ok": True, "result": result}
        except LanguageServerTimeout as e:
            self._timeouts += 1
            if self._timeouts >= HUNG_AFTER_TIMEOUTS:  # hung, not slow: replace it
                self._timeouts = 0
                self._server.shutdown()
                self.restarts += 1
            return {"ok": False, "error": type(e).__name__, "message": str(e)}
        except LanguageServerError as e:
            if isinstance(e, LanguageServerCrashed) and not self._respawn:
                self._respawn = True  # answered now (-> the fallback), replaced right after
                self.restarts += 1
            return {"ok": False, "error": type(e).__name__, "message": str(e)}
        except (ValueError, TypeError, KeyError) as e:
            return {"ok": False, "error": "LanguageServerError", "message": f"bad request: {e}"}

    def _dispatch(self, op: str, args: dict[str, Any]) -> Any:
        server = self._server
        if op == "ping":
            return {"pid": os.getpid()}
        if op == "status":
            return self._status()
        if op == "stop":
            self._running = False
            return {"stopping": True}
        if op == "start":
            if server.crashed():  # never make this call wait for a new pyright
                raise LanguageServerCrashed("pyright died; a new one is starting in the background")
            try:
                server.start(self._listener)
            except LanguageServerUnavailable as e:
                self._unavailable(e)  # answer this call, then exit
                raise
            self._available()
            return None
        if op == "facts":
            return protocol.facts_to_wire(server.facts())
        if op == "wait_ready":
            return server.wait_ready(int(args["timeout_ms"]))
        if op == "definition":
            found = server.definition(
                str(args["path"]), int(args["line"]), int(args["column"]), int(args["timeout_ms"])
            )
            return [protocol.location_to_wire(loc) for loc in found]
        if op == "document_symbols":
            found = server.document_symbols(str(args["path"]), int(args["timeout_ms"]))
            return [protocol.location_to_wire(loc) for loc in found]
        raise ValueError(f"unknown op {op!r}")

    def _status(self) -> dict[str, Any]:
        now = self._clock.monotonic_ns()
        return {
            "pid": os.getpid(),
            "uptime_s": round((now - self._started_ns) / 1e9, 1),
            "idle_s": round((now - self._last_request_ns) / 1e9, 1),
            "idle_timeout_s": self._idle_timeout_ns // 1_000_000_000,
            "requests": self.requests,
            "restarts": self.restarts,
            "facts": protocol.facts_to_wire(self._server.facts()),
        }
