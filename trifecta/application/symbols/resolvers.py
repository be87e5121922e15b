"""The two ``SymbolResolver``s the fallback policy composes.

- ``LspSymbolResolver``: over the ``LanguageServer`` port (pyright, in process or behind the
  warm server): starts the server and waits for READY as the request allows, asks
  ``textDocument/definition`` or ``documentSymbol``, and enriches the locations from the
  index (kind, qualified name, last line). A location outside the segment is an answer
  (``external``, named by the adapter: module and qualified name, no path), never dropped
  or replaced by a namesake; the ``@overload`` stubs and property accessors of one symbol
  collapse into one answer (``related_lines``). Raises ``LanguageServerError`` subclasses
  when the server cannot answer; answers ``resolved_by = "lsp"``, ``evidence = "lsp"``.
- ``IndexSymbolResolver``: over the segment's ``SymbolIndex`` (skeletons parsed by ``ast``,
  Tree-sitter when ``ast`` fails). Never raises for an unknown symbol. ``resolved_by`` is
  the parser that built the answering entry's skeleton (``ast`` or ``tree_sitter``): the
  first match's file, or with no match or an external one the file that was searched
  (``tree_sitter`` when no skeleton could be had at all). ``evidence`` says how the index
  found it (``scope``, ``import``, ``receiver``, ``name_only``); a ``name_only`` answer is
  always ``ambiguous``.

Both implement ``trifecta.domain.ports.SymbolResolver`` (contract-tested together in
``tests/contract/test_symbol_resolver_contract.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trifecta.application.symbols.answers import collapse_same_symbol
from trifecta.application.symbols.fallback import BY_FALLBACK as BY_INDEX
from trifecta.application.symbols.fallback import BY_LSP, IndexAnswer
from trifecta.application.symbols.index import SymbolIndex
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import (
    LanguageServerCold,
    LanguageServerNotReady,
    LanguageServerTimeout,
)
from trifecta.domain.model import Resolution, Selector, SymbolLocation
from trifecta.domain.ports import Clock, LanguageServer
from trifecta.domain.records import replace


class IndexSymbolResolver:
    """Selectors exactly (module -> file -> qualified name, one re-export hop); positions by
    Python's scoping rules (``scopes.py``), imports, receivers, then the whole segment by name
    (a guess: ``name_only``, always ``ambiguous``)."""

    def __init__(self, index: SymbolIndex) -> None:
        self._index = index

    def resolve_selector(self, selector: Selector, timeout_ms: int) -> Resolution:
        answer = self._index.resolve_selector(selector)
        split = self._index.split_selector(selector)
        by = self._parser(answer.matches, split[0] if split else None)
        return self._resolution(str(selector), answer, by)

    def resolve_position(self, path: str, line: int, column: int, timeout_ms: int) -> Resolution:
        answer = self._index.resolve_position(path, line, column)
        query = f"{path}:{line}:{column}"
        by = self._parser(answer.matches, path)
        return self._resolution(query, answer, by)

    @staticmethod
    def _resolution(query: str, answer: IndexAnswer, by: str) -> Resolution:
        evidence = answer.evidence if answer.matches else None
        ambiguous = answer.ambiguous or evidence == "name_only"
        return Resolution(query, answer.matches, by, None, ambiguous, evidence=evidence)

    def _parser(self, matches: tuple[SymbolLocation, ...], searched: str | None) -> str:
        # an external answer (no path) was found through the searched file's imports
        path = matches[0].path if matches and not matches[0].external else searched
        skeleton = self._index.skeleton(path) if path is not None else None
        return skeleton.parser if skeleton is not None else BY_INDEX


class LspSymbolResolver:
    """``ready_wait_ms``: how long to wait for a server still scanning its workspace;
    ``wait_for_start``: a warm server that is being launched is worth waiting for (else a
    cold server is reported at once, ``LanguageServerCold``)."""

    def __init__(
        self,
        lsp: LanguageServer,
        index: SymbolIndex,
        telemetry: TelemetryService,
        clock: Clock,
        listener: Callable[[str, Mapping[str, Any]], None] | None = None,
        *,
        ready_wait_ms: int = 500,
        wait_for_start: bool = False,
    ) -> None:
        self._lsp = lsp
        self._index = index
        self._telemetry = telemetry
        self._clock = clock
        self._listener = listener
        self._ready_wait_ms = ready_wait_ms
        self._wait_for_start = wait_for_start

    def resolve_selector(self, selector: Selector, timeout_ms: int) -> Resolution:
        found: list[SymbolLocation] = []
        split = self._index.split_selector(selector)
        if split is not None:  # no such module in the segment: the index says the same
            path, member = split
            server = self._server()
            start = self._clock.monotonic_ns()
            self._telemetry.incr("lsp_request_count")  # the timeout-rate denominator
            symbols = server.document_symbols(path, timeout_ms)
            if member is None:
                found = [self._index.module_location(path)] if symbols else []
            else:
                found = [s for s in symbols if s.qualname == member][:1]
                found = [replace(s, end_line=max(s.end_line, s.line)) for s in found]
            self._event("document_symbols", path, found, start, symbol_name=member or "")
        return self._resolution(str(selector), found)

    def resolve_position(self, path: str, line: int, column: int, timeout_ms: int) -> Resolution:
        server = self._server()
        start = self._clock.monotonic_ns()
        self._telemetry.incr("lsp_request_count")  # the timeout-rate denominator
        found = self._enrich(server.definition(path, line, column, timeout_ms))
        found = list(collapse_same_symbol(found))
        query = f"{path}:{line}:{column}"
        self._event("definition", path, found, start, symbol_name=query)
        return self._resolution(query, found)

    @staticmethod
    def _resolution(query: str, found: list[SymbolLocation]) -> Resolution:
        evidence = BY_LSP if found else None
        return Resolution(query, tuple(found), BY_LSP, None, len(found) > 1, evidence=evidence)

    def _server(self) -> LanguageServer:
        """The started server, ready to believe; raises a ``LanguageServerError``."""

        try:
            self._lsp.start(self._listener)
        except (LanguageServerCold, LanguageServerTimeout) as e:
            if not self._wait_for_start:
                raise
            if isinstance(e, LanguageServerCold) and not e.starting:
                # nothing runs and nothing was launched: waiting is futile
                raise LanguageServerCold("no warm server runs for this segment") from e
            # a warm server just launched, or one busy starting pyright (its start timed
            # out), is worth waiting for, bounded by ready_wait_ms
        if not self._lsp.wait_ready(self._ready_wait_ms):
            raise LanguageServerNotReady(
                f"pyright is still scanning the workspace after {self._ready_wait_ms} ms"
            )
        return self._lsp

    def _enrich(self, found: list[SymbolLocation]) -> list[SymbolLocation]:
        """Add kind, qualname and the body's last line from the index to LSP locations."""

        out = []
        for loc in found:
            if loc.external:  # outside the segment: the adapter named module and qualname
                out.append(loc)
                continue
            entry = self._index.entry_at(loc.path, loc.line)
            if entry is not None:
                loc = replace(
                    loc, kind=entry.kind, qualname=entry.qualname, end_line=entry.line_end
                )
            out.append(loc)
        return out

    def _event(
        self, request_type: str, path: str, found: list[SymbolLocation], start: int, **extra: Any
    ) -> None:
        ms = (self._clock.monotonic_ns() - start) // 1_000_000
        self._telemetry.observe(f"lsp.{request_type}", ms)
        first = found[0] if found else None
        self._telemetry.event(
            f"lsp.{request_type}",
            {"file": path},
            {"resolved": bool(found), "matches": len(found)},
            ms,
            resolved=bool(found),
            file_path_rel=(first.path or None) if first else path,
            external=bool(first and first.external),
            line_no=first.line if first else None,
            **extra,
        )
