"""The telemetry service: the seed's API (event / observe / incr / flush) on the
``TelemetrySink`` port.

FOUNDATION VERSION: records and counts; redaction, summaries, levels and health figures are
completed by the telemetry issue.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from trifecta.domain.errors import TelemetryError
from trifecta.domain.model import CORE_EVENT_KEYS, TelemetryEvent
from trifecta.domain.ports import Clock, TelemetrySink


class TelemetryService:
    """Records events and counters of one process run.

    Events are appended to the sink as they happen (so a crash loses nothing already
    recorded); counters and latencies are kept in memory and merged by ``flush``.
    """

    def __init__(
        self,
        sink: TelemetrySink | None,
        clock: Clock,
        segment_label: str,
        run_id: str | None = None,
        level: str = "lite",
    ) -> None:
        self._sink = sink if level != "off" else None
        self._clock = clock
        self.level = level
        self.segment_label = segment_label
        self.run_id = (
            run_id
            or f"run_{int(clock.epoch_s())}_{os.getpid()}_{clock.monotonic_ns() % 1_000_000:06d}"
        )
        self.metrics: dict[str, int] = {}
        self.latencies: dict[str, list[int]] = {}
        self.warnings: list[str] = []

    @property
    def enabled(self) -> bool:
        return self._sink is not None

    def event(
        self,
        cmd: str,
        args: Mapping[str, Any],
        result: Mapping[str, Any],
        timing_ms: int,
        warnings: list[str] | None = None,
        **extra_fields: Any,
    ) -> None:
        clash = sorted(set(extra_fields) & set(CORE_EVENT_KEYS))
        if clash:
            raise TelemetryError(
                f"extra field(s) {', '.join(clash)} would overwrite core event keys"
            )
        if warnings:
            self.warnings.extend(warnings)
        if self._sink is None:
            return
        record = TelemetryEvent(
            ts=self._clock.utc_iso(),
            run_id=self.run_id,
            segment=self.segment_label,
            cmd=cmd,
            args=args,
            result=result,
            timing_ms=int(timing_ms),
            warnings=tuple(warnings or ()),
            extra=extra_fields,
        ).to_record()
        self._sink.append_events([record])

    def observe(self, cmd: str, ms: int) -> None:
        self.latencies.setdefault(cmd, []).append(int(ms))

    def incr(self, name: str, n: int = 1) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + n

    def flush(self) -> None:
        if self._sink is None:
            return
        self._sink.merge_counters(self.metrics)
        self._sink.write_last_run({"run_id": self.run_id, "metrics_delta": dict(self.metrics)})
