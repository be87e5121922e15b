"""Symbol resolution use cases: a selector or a position -> definition locations, through
the language server when it can answer and the skeleton index when it cannot (the policy
is ``trifecta/application/fallback.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from trifecta.application.answers import collapse_same_symbol
from trifecta.application.fallback import FallbackPolicy, IndexAnswer
from trifecta.application.symbol_index import SymbolIndex
from trifecta.application.telemetry import TelemetryService
from trifecta.domain.errors import (
    FileMissing,
    FileTooLarge,
    LanguageServerCold,
    LanguageServerNotReady,
    ModuleMissing,
    NotPython,
    PositionOutOfRange,
    UsageError,
)
from trifecta.domain.model import Resolution, Selector, SymbolLocation
from trifecta.domain.ports import Clock, FileReader, LanguageServer
from trifecta.domain.selector import parse_selector


@dataclass(frozen=True)
class SymbolRequest:
    """One query. ``use_lsp`` False answers from the index only (``lsp_disabled``);
    ``require_lsp`` never falls back; ``ready_wait_ms`` bounds the wait for a server that is
    still scanning its workspace."""

    query: str
    timeout_ms: int = 500
    ready_wait_ms: int = 500
    use_lsp: bool = True
    require_lsp: bool = False

    @property
    def deadline_ms(self) -> int:
        """The request's deadline. With ``require_lsp`` there is no fallback to hurry to:
        wait at least ``ready_wait_ms`` for pyright's answer (its first definition after a
        cold start checks the whole file and can take seconds on a loaded machine)."""

        if self.require_lsp:
            return max(self.timeout_ms, self.ready_wait_ms)
        return self.timeout_ms


def parse_position(text: str) -> tuple[str, int, int]:
    """``FILE:LINE:COL`` (1-based) -> (file, line, column); raise ``UsageError``."""

    path, sep1, rest = text.rpartition(":")
    file, sep2, line = path.rpartition(":")
    if not (sep1 and sep2 and file):
        raise UsageError(f"malformed position {text!r}: expected FILE:LINE:COL")
    try:
        line_no, column = int(line), int(rest)
    except ValueError:
        raise UsageError(f"malformed position {text!r}: LINE and COL must be integers") from None
    if line_no < 1 or column < 1:
        raise UsageError(f"malformed position {text!r}: LINE and COL start at 1")
    return file, line_no, column


class LspTelemetry:
    """Turns the language server's lifecycle facts into telemetry events and counters."""

    COUNTERS = {"lsp.spawn": "lsp_spawn_count", "lsp.ready": "lsp_ready_count"}

    def __init__(self, telemetry: TelemetryService) -> None:
        self._telemetry = telemetry

    def __call__(self, name: str, fields: Mapping[str, Any]) -> None:
        counter = self.COUNTERS.get(name)
        if counter:
            self._telemetry.incr(counter)
        timing = int(fields.get("cumulative_ms", 0) or 0)
        self._telemetry.event(name, {}, dict(fields), timing, **_extra(fields))


def _extra(fields: Mapping[str, Any]) -> dict[str, Any]:
    reserved = {"ts", "run_id", "segment", "cmd", "args", "result", "timing_ms", "warnings"}
    return {k: v for k, v in fields.items() if k not in reserved}


class _Resolver:
    """What both use cases share: the LSP session, the policy, enrichment, telemetry."""

    def __init__(
        self,
        lsp: LanguageServer | None,
        index: SymbolIndex,
        telemetry: TelemetryService,
        clock: Clock,
    ) -> None:
        self._lsp = lsp
        self._index = index
        self._telemetry = telemetry
        self._clock = clock
        self._policy = FallbackPolicy(telemetry, clock)
        self._listener = LspTelemetry(telemetry)

    def _server(self, request: SymbolRequest) -> LanguageServer:
        """The started server, ready to believe; raises a ``LanguageServerError``."""

        assert self._lsp is not None
        try:
            self._lsp.start(self._listener)
        except LanguageServerCold as e:
            if not request.require_lsp:
                raise
            if not e.starting:  # nothing runs and nothing was launched: waiting is futile
                raise LanguageServerCold(
                    "no warm server for this segment; run `trifecta lsp start`"
                ) from e
            # --require-lsp: the warm server that start() launched is worth waiting for
        if not self._lsp.wait_ready(request.ready_wait_ms):
            raise LanguageServerNotReady(
                f"pyright is still scanning the workspace after {request.ready_wait_ms} ms"
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

    def _ms(self, start: int) -> int:
        return (self._clock.monotonic_ns() - start) // 1_000_000

    def _record(self, resolution: Resolution, start: int) -> Resolution:
        resolution = replace(resolution, timing_ms=self._ms(start))
        self._telemetry.incr("selector_resolve_count")
        if resolution.resolved:
            self._telemetry.incr("selector_resolve_success_count")
        result = {
            "resolved": resolution.resolved,
            "matches_count": len(resolution.matches),
            "ambiguous": resolution.ambiguous,
            "resolved_by": resolution.resolved_by,
            "fallback_reason": resolution.fallback_reason,
            "evidence": resolution.evidence,
            "external": any(m.external for m in resolution.matches),
        }
        self._telemetry.event(
            "selector.resolve",
            {"symbol_query": resolution.query[:120]},
            result,
            resolution.timing_ms,
            symbol_query=resolution.query[:120],
            resolved=resolution.resolved,
            matches_count=len(resolution.matches),
            ambiguous=resolution.ambiguous,
            resolved_by=resolution.resolved_by,
            fallback_reason=resolution.fallback_reason,
        )
        self._telemetry.observe("selector.resolve", resolution.timing_ms)
        return resolution

    def _lsp_event(
        self, request_type: str, path: str, found: list[SymbolLocation], start: int, **extra: Any
    ) -> None:
        ms = self._ms(start)
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


class ResolveSelector(_Resolver):
    """``sym://python/mod/pkg.mod#Class.method`` or ``pkg.mod:Class.method`` -> where it is
    defined. Through pyright: the module's file, then its document symbols (hierarchical
    qualified names). Fallback: the skeleton index (exact). Never raises for an unresolved
    selector: ``resolved`` is False; raises ``SelectorError`` for a malformed one."""

    def execute(self, request: SymbolRequest) -> Resolution:
        start = self._clock.monotonic_ns()
        selector = parse_selector(request.query)
        split = self._index.split_selector(selector)
        if split is None or (selector.member is not None and split[1] != selector.member):
            # nothing to ask pyright about (and no parent package to guess in)
            raise ModuleMissing(f"module {selector.module} not found in the segment")
        query = str(selector)
        lsp = (
            (lambda: self._via_lsp(selector, request))
            if request.use_lsp and self._lsp is not None
            else None
        )
        resolution = self._policy.resolve(
            query,
            "document_symbols",
            request.deadline_ms,
            lsp,
            lambda: self._index.resolve_selector(selector),
            request.require_lsp,
        )
        return self._record(resolution, start)

    def _via_lsp(self, selector: Selector, request: SymbolRequest) -> list[SymbolLocation]:
        split = self._index.split_selector(selector)
        if split is None:
            return []  # no such module in the segment: the index will say the same
        path, member = split
        server = self._server(request)
        start = self._clock.monotonic_ns()
        self._telemetry.incr("lsp_request_count")  # the timeout-rate denominator
        symbols = server.document_symbols(path, request.deadline_ms)
        if member is None:
            found = [self._index.module_location(path)] if symbols else []
        else:
            found = [s for s in symbols if s.qualname == member][:1]
            found = [replace(s, end_line=max(s.end_line, s.line)) for s in found]
        self._lsp_event("document_symbols", path, found, start, symbol_name=member or "")
        return found


class ResolvePosition(_Resolver):
    """``FILE:LINE:COL`` (segment-relative, 1-based) -> the definition of the identifier
    there: ``textDocument/definition``, else the index (scopes, imports, segment by name,
    ``ambiguous`` when several remain). Raises ``UsageError`` for a malformed position and
    ``FileMissing``/``PathOutsideSegment`` for a bad file."""

    def __init__(
        self,
        lsp: LanguageServer | None,
        index: SymbolIndex,
        reader: FileReader,
        telemetry: TelemetryService,
        clock: Clock,
    ) -> None:
        super().__init__(lsp, index, telemetry, clock)
        self._reader = reader

    def execute(self, request: SymbolRequest) -> Resolution:
        start = self._clock.monotonic_ns()
        user_path, line, column = parse_position(request.query)
        path = self._reader.relative(user_path)
        if self._reader.stat(path) is None:
            raise FileMissing(f"{path}: no such file")
        self._check_position(path, line, column)
        query = f"{path}:{line}:{column}"
        lsp = (
            (lambda: self._via_lsp(path, line, column, request))
            if request.use_lsp and self._lsp is not None
            else None
        )
        resolution = self._policy.resolve(
            query,
            "definition",
            request.deadline_ms,
            lsp,
            lambda: self._fallback(path, line, column),
            request.require_lsp,
        )
        return self._record(resolution, start)

    def _check_position(self, path: str, line: int, column: int) -> None:
        """Refuse what no resolver can answer, before asking pyright: a non-Python file,
        a line past the end of the file, a column past the end of the line."""

        if not path.endswith((".py", ".pyi")):
            raise NotPython(f"{path} is not a Python file")
        try:
            lines = self._index.lines(path)
        except FileTooLarge:
            return  # too large for us to read; pyright may still answer, and judge the range
        if line > max(len(lines), 1):
            raise PositionOutOfRange(f"line {line} is past the end of {path} ({len(lines)} lines)")
        text = lines[line - 1] if lines else ""
        if column > len(text) + 1:
            raise PositionOutOfRange(
                f"column {column} is past the end of line {line} of {path} ({len(text)} characters)"
            )

    def _fallback(self, path: str, line: int, column: int) -> IndexAnswer:
        return self._index.resolve_position(path, line, column)

    def _via_lsp(
        self, path: str, line: int, column: int, request: SymbolRequest
    ) -> list[SymbolLocation]:
        server = self._server(request)
        start = self._clock.monotonic_ns()
        self._telemetry.incr("lsp_request_count")  # the timeout-rate denominator
        found = self._enrich(server.definition(path, line, column, request.deadline_ms))
        found = list(collapse_same_symbol(found))
        self._lsp_event("definition", path, found, start, symbol_name=f"{path}:{line}:{column}")
        return found
