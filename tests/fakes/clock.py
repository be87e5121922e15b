"""The clock, moved by hand."""

from __future__ import annotations

from trifecta.domain.ports import (
    Clock,
)


class FakeClock(Clock):
    """A clock that moves only when told (``advance``) or by ``step_ns`` per reading."""

    def __init__(self, start_ns: int = 1_000_000_000, step_ns: int = 0) -> None:
        self.now_ns = start_ns
        self.step_ns = step_ns

    def advance(self, ms: float) -> None:
        self.now_ns += int(ms * 1_000_000)

    def monotonic_ns(self) -> int:
        value = self.now_ns
        self.now_ns += self.step_ns
        return value

    def utc_iso(self) -> str:
        return "2026-01-01T00:00:00+00:00"

    def epoch_s(self) -> float:
        return 1_767_225_600.0 + self.now_ns / 1e9
