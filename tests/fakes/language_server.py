"""A language server answering from tables, with scripted failures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trifecta.domain.errors import (
    LanguageServerCold,
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerTimeout,
    LanguageServerUnavailable,
)
from trifecta.domain.model import (
    LspFacts,
    SymbolLocation,
)
from trifecta.domain.ports import (
    LanguageServer,
)


class FakeLanguageServer(LanguageServer):
    """A language server answering from a table: (path, line, column) -> locations.

    ``behaviour`` scripts failure modes: "ok", "unavailable", "cold", "crashed", "timeout",
    "error", "empty", "not_ready". ``requests`` counts requests served (state, for
    assertions).
    """

    def __init__(
        self,
        definitions: Mapping[tuple[str, int, int], list[SymbolLocation]] | None = None,
        symbols: Mapping[str, list[SymbolLocation]] | None = None,
        behaviour: str = "ok",
        needs_ms: int = 0,
    ) -> None:
        self.definitions = dict(definitions or {})
        self.needs_ms = needs_ms  # a request with a shorter deadline times out
        self.deadlines: list[int] = []
        self.dead = False  # set by a test: the "process" died (crashed() until restarted)
        self.spawns = 0
        self.symbols = dict(symbols or {})
        self.behaviour = behaviour
        self.started = False
        self.stopped = False
        self.requests = 0
        self._facts = LspFacts()
        self._listener: Callable[[str, Mapping[str, Any]], None] | None = None

    def start(self, listener: Callable[[str, Mapping[str, Any]], None] | None = None) -> None:
        if self.behaviour == "unavailable":
            raise LanguageServerUnavailable("pyright-langserver not found")
        if self.behaviour == "cold":
            raise LanguageServerCold("no warm server yet")
        if self.started and not self.stopped and not self.dead:
            return  # like the real adapter: a live session is reused, facts reported once
        self._listener = listener
        self.started = True
        self.dead = False
        self.spawns += 1
        self.stopped = False  # a new session after a shutdown, like the real adapter
        ready = self.behaviour != "not_ready"
        self._facts = LspFacts(
            spawned=True,
            initialized=True,
            ready_via="diagnostics" if ready else None,
            ready_ms=5 if ready else None,
            scan_done=ready,
        )
        if listener is not None:
            listener("lsp.spawn", {"pyright_binary": "fake"})
            listener("lsp.initialize", {"workspace_initialized": True})
            if ready:
                listener("lsp.ready", {"ready_via": "diagnostics", "cumulative_ms": 5})

    def facts(self) -> LspFacts:
        return self._facts

    def crashed(self) -> bool:
        return self.started and not self.stopped and self.dead

    def wait_ready(self, timeout_ms: int) -> bool:
        return self._facts.ready_via is not None

    def _serve(self, timeout_ms: int = 0) -> None:
        if not self.started or self.stopped:
            raise LanguageServerUnavailable("language server is not running")
        if self.dead:
            raise LanguageServerCrashed("the language server process died")
        self.requests += 1
        self.deadlines.append(timeout_ms)
        if self.behaviour == "timeout" or timeout_ms < self.needs_ms:
            raise LanguageServerTimeout("request passed its deadline")
        if self.behaviour == "error":
            raise LanguageServerError("internal error")
        if self.behaviour == "crashed":
            raise LanguageServerCrashed("the language server process died")

    def definition(
        self, path: str, line: int, column: int, timeout_ms: int
    ) -> list[SymbolLocation]:
        self._serve(timeout_ms)
        if self.behaviour in ("empty", "not_ready"):
            return []
        return list(self.definitions.get((path, line, column), []))

    def document_symbols(self, path: str, timeout_ms: int) -> list[SymbolLocation]:
        self._serve(timeout_ms)
        if self.behaviour in ("empty", "not_ready"):
            return []
        return list(self.symbols.get(path, []))

    def shutdown(self) -> None:
        self.stopped = True
