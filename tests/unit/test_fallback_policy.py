"""``FallbackPolicy`` composes two ``SymbolResolver``s (pure application logic), on fakes:
who answers, why the fallback answered, what is counted, and ``require_lsp``."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock, FakeSymbolResolver, FakeTelemetrySink
from trifecta.application.symbols.fallback import FALLBACK_REASONS, FallbackPolicy
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
from trifecta.domain.ports import SymbolResolver

HERE = SymbolLocation("a.py", 1, 5, 2, "function", "f")
THERE = SymbolLocation("b.py", 7, 5, 9, "function", "f")
KEY = "a.py:3:1"


def run(
    lsp: FakeSymbolResolver | None, require_lsp: bool = False
) -> tuple[Resolution, TelemetryService, FakeSymbolResolver]:
    clock = FakeClock(step_ns=1_000_000)
    telemetry = TelemetryService(FakeTelemetrySink(), clock, "seg")
    index = FakeSymbolResolver({KEY: [THERE]})

    def ask(resolver: SymbolResolver) -> Resolution:
        return resolver.resolve_position("a.py", 3, 1, 500)

    policy = FallbackPolicy(telemetry, clock)
    answer = policy.resolve("q", "definition", 500, lsp, index, ask, require_lsp)
    return answer, telemetry, index


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (LanguageServerCold("starting"), "lsp_cold"),
        (LanguageServerUnavailable("no binary"), "lsp_unavailable"),
        (LanguageServerCrashed("died"), "lsp_crashed"),
        (LanguageServerNotReady("scanning"), "lsp_not_ready"),
        (LanguageServerTimeout("late"), "lsp_timeout"),
        (LanguageServerError("bad answer"), "lsp_error"),
    ],
)
def test_a_failing_language_server_falls_back_to_the_index(
    error: LanguageServerError, reason: str
) -> None:
    answer, telemetry, index = run(FakeSymbolResolver(by="lsp", error=error))
    assert (answer.resolved_by, answer.fallback_reason) == ("tree_sitter", reason)
    assert answer.matches == (THERE,) and answer.query == "q" and index.asked == 1
    assert telemetry.metrics["lsp_fallback_count"] == 1
    assert telemetry.metrics.get("lsp_timeout_count", 0) == (reason == "lsp_timeout")
    assert reason in FALLBACK_REASONS


def test_an_answer_from_the_language_server_is_final() -> None:
    answer, telemetry, index = run(FakeSymbolResolver({KEY: [HERE]}, by="lsp"))
    assert (answer.resolved_by, answer.fallback_reason, answer.matches) == ("lsp", None, (HERE,))
    assert index.asked == 0 and "lsp_fallback_count" not in telemetry.metrics
    assert answer.timing_ms > 0  # the policy times the whole answer on the injected clock


def test_an_empty_answer_falls_back_and_disabled_is_not_a_fallback() -> None:
    empty, telemetry, _ = run(FakeSymbolResolver(by="lsp"))
    assert (empty.fallback_reason, empty.matches) == ("lsp_empty", (THERE,))
    assert telemetry.metrics["lsp_fallback_count"] == 1
    disabled, telemetry, _ = run(None)
    assert (disabled.resolved_by, disabled.fallback_reason) == ("tree_sitter", "lsp_disabled")
    assert "lsp_fallback_count" not in telemetry.metrics


def test_require_lsp_never_asks_the_index() -> None:
    with pytest.raises(LanguageServerTimeout, match="require_lsp forbids the fallback"):
        run(FakeSymbolResolver(by="lsp", error=LanguageServerTimeout("late")), require_lsp=True)
    answer, _, index = run(FakeSymbolResolver(by="lsp"), require_lsp=True)
    assert (answer.resolved_by, answer.matches, index.asked) == ("lsp", (), 0)


def test_a_definition_outside_the_segment_is_an_answer_not_lsp_empty() -> None:
    """Pyright pointing into the standard library answers; the index's namesake is never
    asked for, so it cannot replace the external answer."""

    join = SymbolLocation("", 0, 0, 0, "method", "bytes.join", external=True, module="builtins")
    answer, telemetry, index = run(FakeSymbolResolver({KEY: [join]}, by="lsp"))
    assert (answer.resolved_by, answer.fallback_reason, answer.matches) == ("lsp", None, (join,))
    assert index.asked == 0 and "lsp_fallback_count" not in telemetry.metrics
