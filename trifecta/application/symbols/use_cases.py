"""Symbol resolution use cases: a selector or a position -> definition locations, through
the language server's resolver when it can answer and the index's when it cannot
(``resolvers.py``; the policy composing them is ``fallback.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trifecta.application.symbols.fallback import FallbackPolicy
from trifecta.application.symbols.index import SymbolIndex
from trifecta.application.symbols.resolvers import IndexSymbolResolver, LspSymbolResolver
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import (
    FileMissing,
    FileTooLarge,
    ModuleMissing,
    NotPython,
    PositionOutOfRange,
    UsageError,
)
from trifecta.domain.model import Resolution, estimate_tokens
from trifecta.domain.ports import Clock, FileReader, LanguageServer, SymbolResolver
from trifecta.domain.records import replace
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


def symbol_request(
    query: str,
    lsp: Mapping[str, Any],
    *,
    timeout_ms: int | None = None,
    require_lsp: bool = False,
    no_lsp: bool = False,
) -> SymbolRequest:
    """The request for ``query`` under the ``lsp.*`` settings: ``timeout_ms`` defaults to
    ``lsp.timeout_ms``. A warm server answers at once or falls back (``lsp_cold`` /
    ``lsp_not_ready``); an in-process pyright, or ``require_lsp``, is worth waiting for
    (up to ``lsp.ready_timeout_ms``)."""

    timeout = int(timeout_ms if timeout_ms is not None else lsp["timeout_ms"])
    patient = require_lsp or lsp["mode"] == "process"
    return SymbolRequest(
        query=query,
        timeout_ms=timeout,
        ready_wait_ms=int(lsp["ready_timeout_ms"]) if patient else timeout,
        use_lsp=bool(lsp["enabled"]) and not no_lsp,
        require_lsp=require_lsp,
    )


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


def served_tokens(resolution: Resolution) -> int:
    """The token estimate of an answer: its matches as ``path:line:col kind qualname``
    (an external one as ``external module kind qualname``)."""

    return estimate_tokens(
        "\n".join(
            (f"external {m.module or '?'}" if m.external else f"{m.path}:{m.line}:{m.column}")
            + f" {m.kind} {m.qualname or ''}".rstrip()
            for m in resolution.matches
        )
    )


class _Resolver:
    """What both use cases share: the two resolvers (``resolvers.py``), the fallback policy
    that composes them, and the telemetry of each answer."""

    COMMAND = "ast.resolve"  # the command event each answer records

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

    def _resolvers(self, request: SymbolRequest) -> tuple[SymbolResolver | None, SymbolResolver]:
        """The language server's resolver (None when it is not asked) and the index's."""

        lsp: SymbolResolver | None = None
        if request.use_lsp and self._lsp is not None:
            lsp = LspSymbolResolver(
                self._lsp,
                self._index,
                self._telemetry,
                self._clock,
                self._listener,
                ready_wait_ms=request.ready_wait_ms,
                wait_for_start=request.require_lsp,
            )
        return lsp, IndexSymbolResolver(self._index)

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
        self._record_command(resolution)
        return resolution

    def _record_command(self, resolution: Resolution) -> None:
        """The command's own event (``ast.resolve`` / ``ast.definition``), with the tokens
        of what is served: one ``path:line:col kind qualname`` line per match."""

        self._telemetry.observe(self.COMMAND, resolution.timing_ms)
        self._telemetry.event(
            self.COMMAND,
            {"query": resolution.query[:120]},
            {
                "resolved": resolution.resolved,
                "matches": len(resolution.matches),
                "resolved_by": resolution.resolved_by,
                "fallback_reason": resolution.fallback_reason,
            },
            resolution.timing_ms,
            tokens=served_tokens(resolution),
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
        lsp, index = self._resolvers(request)
        timeout = request.deadline_ms
        resolution = self._policy.resolve(
            str(selector),
            "document_symbols",
            timeout,
            lsp,
            index,
            lambda resolver: resolver.resolve_selector(selector, timeout),
            request.require_lsp,
        )
        return self._record(resolution, start)


class ResolvePosition(_Resolver):
    """``FILE:LINE:COL`` (segment-relative, 1-based) -> the definition of the identifier
    there: ``textDocument/definition``, else the index (scopes, imports, segment by name,
    ``ambiguous`` when several remain). Raises ``UsageError`` for a malformed position and
    ``FileMissing``/``PathOutsideSegment`` for a bad file."""

    COMMAND = "ast.definition"

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
        lsp, index = self._resolvers(request)
        timeout = request.deadline_ms
        resolution = self._policy.resolve(
            f"{path}:{line}:{column}",
            "definition",
            timeout,
            lsp,
            index,
            lambda resolver: resolver.resolve_position(path, line, column, timeout),
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
