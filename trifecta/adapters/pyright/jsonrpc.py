"""Layer 2: JSON-RPC 2.0 over framed streams: ids, pending requests with deadlines,
errors, ``$/cancelRequest`` on expiry, and dispatch of what the peer sends us.

One reader thread per endpoint. Requests from the peer are answered on that thread by the
``on_request`` handler (which must be quick); notifications go to ``on_notification``.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from trifecta.adapters.pyright.framing import FramingError, encode_message, read_message
from trifecta.domain.errors import (
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerTimeout,
)

NotificationHandler = Callable[[str, Any], None]
RequestHandler = Callable[[str, Any], Any]

METHOD_NOT_FOUND = -32601
REQUEST_CANCELLED = -32800


class RemoteMethodNotFound(Exception):
    """Raised by an ``on_request`` handler for a method it does not serve."""


@dataclass
class _Pending:
    method: str
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: LanguageServerError | None = None


class JsonRpcEndpoint:
    """A JSON-RPC client/peer over a pair of byte streams."""

    def __init__(
        self,
        incoming: IO[bytes],
        outgoing: IO[bytes],
        on_notification: NotificationHandler,
        on_request: RequestHandler,
        name: str = "jsonrpc",
    ) -> None:
        self._in = incoming
        self._out = outgoing
        self._on_notification = on_notification
        self._on_request = on_request
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed_reason: str | None = None
        self._thread = threading.Thread(target=self._read_loop, name=f"{name}-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed_reason is not None

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    # ---- sending -------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        data = encode_message(message)
        with self._write_lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, OSError, ValueError) as e:
                self._fail_all(f"cannot write to the language server ({e})")
                raise LanguageServerCrashed(f"language server pipe closed ({e})") from e

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def request(self, method: str, params: Any, timeout_ms: int) -> Any:
        """Send a request and wait for its answer until the deadline.

        Raises ``LanguageServerTimeout`` (after sending ``$/cancelRequest``),
        ``LanguageServerCrashed`` if the stream closes, ``LanguageServerError`` for an error
        response.
        """

        if self._closed_reason is not None:
            raise LanguageServerCrashed(self._closed_reason)
        request_id = next(self._ids)
        pending = _Pending(method)
        with self._lock:
            self._pending[request_id] = pending
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)
        if not pending.done.wait(max(timeout_ms, 0) / 1000):
            with self._lock:
                self._pending.pop(request_id, None)
            if not pending.done.is_set():
                if self._closed_reason is None:
                    # if the process is gone meanwhile, the timeout is still the answer
                    with contextlib.suppress(LanguageServerCrashed):
                        self.notify("$/cancelRequest", {"id": request_id})
                raise LanguageServerTimeout(f"{method} passed its {timeout_ms} ms deadline")
        if pending.error is not None:
            raise pending.error
        return pending.result

    # ---- receiving -----------------------------------------------------------------------

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            if self._closed_reason is None:
                self._closed_reason = reason
            pending, self._pending = self._pending, {}
        for item in pending.values():
            item.error = LanguageServerCrashed(reason)
            item.done.set()

    def _read_loop(self) -> None:
        reason = "language server closed its output"
        try:
            while True:
                message = read_message(self._in)
                if message is None:
                    break
                self._dispatch(message)
        except FramingError as e:
            reason = f"language server sent a malformed message ({e})"
        except (OSError, ValueError) as e:
            reason = f"cannot read from the language server ({e})"
        self._fail_all(reason)

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if isinstance(method, str):
            if "id" in message:
                self._answer(message["id"], method, message.get("params"))
            else:
                self._on_notification(method, message.get("params"))
            return
        response_id = message.get("id")
        with self._lock:
            pending = self._pending.pop(response_id, None) if isinstance(response_id, int) else None
        if pending is None:
            return  # an answer to a request we gave up on
        error = message.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            text = str(error.get("message", "unknown error"))[:200]
            pending.error = (
                LanguageServerTimeout(f"{pending.method} was cancelled")
                if code == REQUEST_CANCELLED
                else LanguageServerError(f"{pending.method} failed: {text} (code {code})")
            )
        else:
            pending.result = message.get("result")
        pending.done.set()

    def _answer(self, request_id: Any, method: str, params: Any) -> None:
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        try:
            response["result"] = self._on_request(method, params)
        except RemoteMethodNotFound:
            response["error"] = {"code": METHOD_NOT_FOUND, "message": f"unhandled {method}"}
        try:
            self._send(response)
        except LanguageServerCrashed:
            return
