"""The LSP -> Tree-sitter fallback policy, in one place, top to bottom.

Ask the language server first. Fall back to the skeleton index when the server

    is switched off ............................. lsp_disabled
    is not running yet (warm server is starting)  lsp_cold
    cannot be started (binary missing, no spawn)  lsp_unavailable
    died or closed its pipes mid-session ........ lsp_crashed
    has not finished scanning the workspace ..... lsp_not_ready
    passed the request deadline ................. lsp_timeout
    answered with an error ...................... lsp_error
    answered, but with nothing ................. lsp_empty

A definition outside the segment (the standard library, typeshed, an installed package) is
an answer like any other (``external``: module and qualified name, no path): it is never
replaced by a namesake inside the segment. Every answer says who gave it (``resolved_by``:
``lsp``, or the parser of the index entry, ``ast`` | ``tree_sitter``), how (``evidence``:
``lsp``, or the index's ``scope``, ``import``, ``receiver``, ``name_only``) and why the
fallback answered (``fallback_reason``: None or one of the reasons above). With
``require_lsp`` the policy never falls back: a server failure is an error (exit 1) and an
empty answer is an unresolved LSP answer. The container never decides any of this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import (
    LanguageServerCold,
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerNotReady,
    LanguageServerTimeout,
    LanguageServerUnavailable,
)
from trifecta.domain.model import Resolution, SymbolLocation
from trifecta.domain.ports import Clock, SymbolResolver
from trifecta.domain.records import replace

BY_LSP = "lsp"
# The index's label when no skeleton names the parser (and ``lsp.timeout``'s fallback_to).
BY_FALLBACK = "tree_sitter"

FALLBACK_REASONS: dict[str, str] = {
    "lsp_disabled": "the LSP is switched off (no_lsp asked, or lsp.enabled = false)",
    "lsp_cold": "no warm pyright server is running for the segment yet (one may be starting)",
    "lsp_unavailable": "pyright could not be started (binary missing or spawn failed)",
    "lsp_crashed": "pyright died or closed its pipes during the session",
    "lsp_not_ready": "pyright has not finished scanning the workspace",
    "lsp_timeout": "the request passed its deadline (default 500 ms) and was cancelled",
    "lsp_error": "pyright answered the request with an error",
    "lsp_empty": "pyright answered with no location (in the segment or outside it)",
}


def reason_for(error: LanguageServerError) -> str:
    """The documented fallback reason for a language-server failure (most specific first)."""

    if isinstance(error, LanguageServerCold):
        return "lsp_cold"
    if isinstance(error, LanguageServerUnavailable):
        return "lsp_unavailable"
    if isinstance(error, LanguageServerCrashed):
        return "lsp_crashed"
    if isinstance(error, LanguageServerNotReady):
        return "lsp_not_ready"
    if isinstance(error, LanguageServerTimeout):
        return "lsp_timeout"
    return "lsp_error"


@dataclass(frozen=True)
class IndexAnswer:
    """What the skeleton index found and how (``evidence``, see ``EVIDENCE``); a
    ``name_only`` answer is always ``ambiguous``, even with one candidate."""

    matches: tuple[SymbolLocation, ...]
    ambiguous: bool = False
    evidence: str | None = None


# Ask one resolver the query (its ``resolve_selector`` or its ``resolve_position``).
Ask = Callable[[SymbolResolver], Resolution]


class FallbackPolicy:
    """Composes two ``SymbolResolver``s: the language server's, and when it cannot answer,
    the index's. Pure: no I/O of its own, only the two resolvers and telemetry."""

    def __init__(self, telemetry: TelemetryService, clock: Clock) -> None:
        self._telemetry = telemetry
        self._clock = clock

    def resolve(
        self,
        query: str,
        request_type: str,
        timeout_ms: int,
        lsp: SymbolResolver | None,
        index: SymbolResolver,
        ask: Ask,
        require_lsp: bool = False,
    ) -> Resolution:
        """``lsp`` None means the LSP is disabled for this call."""

        start = self._clock.monotonic_ns()
        reason = "lsp_disabled"
        if lsp is not None:
            try:
                answer = ask(lsp)
            except LanguageServerError as e:
                reason = reason_for(e)
                if reason == "lsp_timeout":
                    self._timed_out(request_type, timeout_ms, start)
                if require_lsp:  # the same class, so callers can tell cold from crashed
                    raise type(e)(
                        f"pyright could not answer {query} ({reason}: {e}) and require_lsp "
                        "forbids the fallback"
                    ) from e
            else:
                if answer.matches or require_lsp:
                    return replace(
                        answer, query=query, fallback_reason=None, timing_ms=self._ms(start)
                    )
                reason = "lsp_empty"
        if reason != "lsp_disabled":
            self._telemetry.incr("lsp_fallback_count")
        answer = ask(index)
        return replace(answer, query=query, fallback_reason=reason, timing_ms=self._ms(start))

    def _ms(self, start: int) -> int:
        return (self._clock.monotonic_ns() - start) // 1_000_000

    def _timed_out(self, request_type: str, timeout_ms: int, start: int) -> None:
        self._telemetry.incr("lsp_timeout_count")
        self._telemetry.event(
            "lsp.timeout",
            {"method": request_type},
            {"timeout_ms": timeout_ms},
            self._ms(start),
            request_type=request_type,
            timeout_ms=timeout_ms,
            fallback_to=BY_FALLBACK,
        )
