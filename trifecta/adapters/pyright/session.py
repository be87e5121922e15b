"""Layer 3: the LSP session: ``initialize``/``initialized``, answers to the server's own
requests, log/diagnostic notifications, readiness, ``shutdown``/``exit``.

READY (seed B.4, N.4) = initialized AND (first ``publishDiagnostics`` OR first successful
definition), whichever comes first; it is reported once. Separately the session tracks the
server's own "workspace scanned" signal (``scan_done``): before it, empty answers are not
believed. Lifecycle facts are queued and handed to the listener on the caller's thread
(``drain_events``), never on the reader thread.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from trifecta.adapters.pyright.jsonrpc import JsonRpcEndpoint, RemoteMethodNotFound
from trifecta.domain.errors import LanguageServerError
from trifecta.domain.model import LspFacts
from trifecta.domain.ports import Clock

Listener = Callable[[str, Mapping[str, Any]], None]
ScanSignal = Callable[[str, Any], bool]

CLIENT_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "definition": {"linkSupport": True},
        "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
        "publishDiagnostics": {"relatedInformation": False},
        "synchronization": {"didSave": False},
    },
    "window": {"workDoneProgress": True},
    "workspace": {"configuration": True, "workspaceFolders": True},
}


def redacted_snippet_hash(diagnostics: list[Any]) -> str:
    """A hash standing in for diagnostic text (seed D.2: never log the snippet)."""

    text = "\n".join(str(d.get("message", "")) for d in diagnostics if isinstance(d, dict))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class LspSession:
    """One initialized conversation with a language server over a pair of streams."""

    def __init__(
        self,
        incoming: IO[bytes],
        outgoing: IO[bytes],
        root: Path,
        clock: Clock,
        spawn_ns: int,
        scan_signal: ScanSignal,
        process_id: int | None = None,
        configuration: Mapping[str, Any] | None = None,
    ) -> None:
        self.root = root
        self._clock = clock
        self._spawn_ns = spawn_ns
        self._scan_signal = scan_signal
        self._process_id = process_id
        self._configuration = dict(configuration or {})
        self._cond = threading.Condition()
        self._events: deque[tuple[str, dict[str, Any]]] = deque()
        self.initialized = False
        self.ready_via: str | None = None
        self.ready_ms: int | None = None
        self.scan_done = False
        self.scan_ms: int | None = None
        self.diagnostics_count = 0
        self.log_lines: deque[str] = deque(maxlen=50)
        self.capabilities: dict[str, Any] = {}
        self._endpoint = JsonRpcEndpoint(
            incoming, outgoing, self._on_notification, self._on_request, name="lsp"
        )
        self._endpoint.start()

    # ---- lifecycle -----------------------------------------------------------------------

    def _ms(self) -> int:
        return (self._clock.monotonic_ns() - self._spawn_ns) // 1_000_000

    def initialize(self, timeout_ms: int) -> None:
        uri = self.root.as_uri()
        params = {
            "processId": self._process_id,
            "clientInfo": {"name": "trifecta"},
            "rootUri": uri,
            "rootPath": str(self.root),
            "workspaceFolders": [{"uri": uri, "name": self.root.name or "segment"}],
            "capabilities": CLIENT_CAPABILITIES,
        }
        result = self._endpoint.request("initialize", params, timeout_ms)
        capabilities = result.get("capabilities", {}) if isinstance(result, dict) else {}
        self.capabilities = capabilities if isinstance(capabilities, dict) else {}
        with self._cond:
            self.initialized = True
            self._queue(
                "lsp.initialize",
                {
                    "workspace_initialized": True,
                    "capabilities_received": len(self.capabilities),
                    "cumulative_ms": self._ms(),
                },
            )
            if self.diagnostics_count:  # READY is a conjunction: both facts, in any order
                self._mark_ready("diagnostics")
            self._cond.notify_all()
        self._endpoint.notify("initialized", {})

    def request(self, method: str, params: Any, timeout_ms: int) -> Any:
        return self._endpoint.request(method, params, timeout_ms)

    @property
    def closed(self) -> bool:
        return self._endpoint.closed

    def shutdown(self, timeout_ms: int) -> None:
        """Polite end: ``shutdown`` then ``exit``; errors mean the peer is already gone."""

        if self._endpoint.closed:
            return
        try:
            self._endpoint.request("shutdown", None, timeout_ms)
            self._endpoint.notify("exit")
        except LanguageServerError as e:  # the group is killed next anyway
            self.log_lines.append(f"shutdown: {type(e).__name__}: {e}")

    def join(self, timeout_s: float) -> None:
        self._endpoint.join(timeout_s)

    # ---- readiness -----------------------------------------------------------------------

    def _queue(self, name: str, fields: dict[str, Any]) -> None:
        self._events.append((name, fields))

    def _mark_ready(self, via: str) -> None:
        # caller holds self._cond
        if self.ready_via is not None or not self.initialized:
            return
        self.ready_via = via
        self.ready_ms = self._ms()
        self._queue("lsp.ready", {"ready_via": via, "cumulative_ms": self.ready_ms})
        self._cond.notify_all()

    def definition_succeeded(self) -> None:
        with self._cond:
            self._mark_ready("definition")

    def wait_answerable(self, timeout_ms: int) -> bool:
        """Wait until READY or the server says its workspace scan is done."""

        deadline = self._clock.monotonic_ns() + timeout_ms * 1_000_000
        with self._cond:
            while not (self.ready_via is not None or (self.initialized and self.scan_done)):
                if self._endpoint.closed:
                    return False
                left = (deadline - self._clock.monotonic_ns()) / 1e9
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def facts(self) -> LspFacts:
        with self._cond:
            return LspFacts(
                spawned=True,
                initialized=self.initialized,
                ready_via=self.ready_via,
                ready_ms=self.ready_ms,
                scan_done=self.scan_done,
                diagnostics_count=self.diagnostics_count,
            )

    def drain_events(self) -> list[tuple[str, dict[str, Any]]]:
        with self._cond:
            events = list(self._events)
            self._events.clear()
        return events

    # ---- what the server sends us --------------------------------------------------------

    def _on_notification(self, method: str, params: Any) -> None:
        if method == "window/logMessage" and isinstance(params, dict):
            self.log_lines.append(str(params.get("message", ""))[:300])
        with self._cond:
            if not self.scan_done and self._scan_signal(method, params):
                self.scan_done = True
                self.scan_ms = self._ms()
                self._cond.notify_all()
            if method == "textDocument/publishDiagnostics" and isinstance(params, dict):
                diagnostics = params.get("diagnostics")
                diagnostics = diagnostics if isinstance(diagnostics, list) else []
                self.diagnostics_count += 1
                if self.diagnostics_count == 1:
                    self._queue(
                        "lsp.diagnostics",
                        {
                            "first_diag_count": len(diagnostics),
                            "redacted_snippet_hash": redacted_snippet_hash(diagnostics),
                            "cumulative_ms": self._ms(),
                        },
                    )
                self._mark_ready("diagnostics")

    def _on_request(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            items = params.get("items", []) if isinstance(params, dict) else []
            return [self._configuration.get(str(item.get("section", ""))) for item in items]
        if method in (
            "window/workDoneProgress/create",
            "client/registerCapability",
            "client/unregisterCapability",
        ):
            return None
        if method == "workspace/workspaceFolders":
            return [{"uri": self.root.as_uri(), "name": self.root.name or "segment"}]
        if method == "window/showMessageRequest":
            return None
        raise RemoteMethodNotFound(method)
