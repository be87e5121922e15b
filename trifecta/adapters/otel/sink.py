"""``OtlpFanOutSink``: the ``TelemetrySink`` that writes to the JSONL sink and, beside it,
exports to an OTLP collector.

The primary sink (JSONL) gets every call first and stays the source of truth; the OTLP
side buffers the records it was given (bounded: past ``max_spans`` the rest are dropped
and counted), turns counter deltas into OTel counters and event timings/tokens into
histograms, and exports once per ``write_last_run`` (the end of a run), within the flush
timeout. Anything the OTLP side does that fails is counted in ``health`` (``otlp_*``,
copied into ``last_run.json``'s ``telemetry`` block, so ``telemetry summary`` shows it)
and never raised.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from trifecta.adapters.otel.export import OtlpExporter
from trifecta.adapters.otel.mapping import spans_of
from trifecta.domain.ports import TelemetrySink

DEFAULT_MAX_SPANS = 2048


class OtlpFanOutSink(TelemetrySink):
    def __init__(
        self, primary: TelemetrySink, exporter: OtlpExporter, max_spans: int = DEFAULT_MAX_SPANS
    ) -> None:
        self.primary = primary
        self.exporter = exporter
        self.max_spans = max_spans
        self._pending: list[Mapping[str, Any]] = []
        self.dropped = 0
        self.errors = 0

    def append_events(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.primary.append_events(records)
        try:
            for record in records:
                timing, tokens = record.get("timing_ms"), record.get("tokens")
                self.exporter.record_event(
                    str(record.get("cmd")),
                    timing if isinstance(timing, int | float) else 0,
                    tokens if isinstance(tokens, int) else 0,
                )
                if len(self._pending) < self.max_spans:
                    self._pending.append(record)
                else:
                    self.dropped += 1
        except Exception:
            self.errors += 1

    def merge_counters(self, deltas: Mapping[str, int]) -> dict[str, int]:
        merged = self.primary.merge_counters(deltas)
        try:
            for name, delta in deltas.items():
                self.exporter.add_counter(name, int(delta))
        except Exception:
            self.errors += 1
        return merged

    def export_pending(self) -> None:
        pending, self._pending = self._pending, []
        try:
            self.exporter.export(spans_of(pending))
        except Exception:
            self.errors += 1

    def write_last_run(self, summary: Mapping[str, Any]) -> None:
        self.export_pending()
        block = summary.get("telemetry")
        health = {**(block if isinstance(block, Mapping) else {}), **self._own_health()}
        self.primary.write_last_run({**summary, "telemetry": health})

    def read_counters(self) -> dict[str, int]:
        return self.primary.read_counters()

    def read_last_run(self) -> dict[str, Any] | None:
        return self.primary.read_last_run()

    def read_events(self) -> Iterator[dict[str, Any]]:
        return self.primary.read_events()

    def release(self) -> None:
        self.primary.release()

    def _own_health(self) -> dict[str, int | float]:
        return {
            **self.exporter.health(),
            "otlp_spans_dropped": self.dropped,
            "otlp_errors": self.errors,
        }

    def health(self) -> Mapping[str, int | float]:
        return {**self.primary.health(), **self._own_health()}
