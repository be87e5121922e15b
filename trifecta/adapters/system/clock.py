"""The real clock: ``perf_counter_ns`` for durations, UTC wall time for records."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from trifecta.domain.ports import Clock


class SystemClock(Clock):
    def monotonic_ns(self) -> int:
        return time.perf_counter_ns()

    def utc_iso(self) -> str:
        return datetime.now(UTC).isoformat()

    def epoch_s(self) -> float:
        return time.time()
