"""Telemetry kept in memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from trifecta.domain.ports import (
    TelemetrySink,
)


class FakeTelemetrySink(TelemetrySink):
    """Telemetry kept in lists and dicts. ``fail_writes`` makes appends spool instead."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}
        self.last_run: dict[str, Any] | None = None
        self.spool: list[dict[str, Any]] = []
        self.fail_writes = False
        self.written = 0
        self.releases = 0

    def append_events(self, records: Sequence[Mapping[str, Any]]) -> None:
        if self.fail_writes:
            self.spool.extend(dict(r) for r in records)
            return
        pending, self.spool = self.spool, []
        for record in [*pending, *(dict(r) for r in records)]:
            self.events.append(record)
            self.written += 1

    def merge_counters(self, deltas: Mapping[str, int]) -> dict[str, int]:
        for key, value in deltas.items():
            self.counters[key] = self.counters.get(key, 0) + value
        return dict(self.counters)

    def read_counters(self) -> dict[str, int]:
        return dict(self.counters)

    def write_last_run(self, summary: Mapping[str, Any]) -> None:
        self.last_run = dict(summary)

    def read_last_run(self) -> dict[str, Any] | None:
        return None if self.last_run is None else dict(self.last_run)

    def read_events(self) -> Iterator[dict[str, Any]]:
        return iter([dict(e) for e in [*self.events, *self.spool]])

    def release(self) -> None:
        self.releases += 1

    def health(self) -> Mapping[str, int | float]:
        return {
            "events_written": self.written,
            "events_spooled": len(self.spool),
            "max_lock_wait_ms": 0,
        }
