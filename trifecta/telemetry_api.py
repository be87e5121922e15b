"""``trifecta.Telemetry``: the seed's telemetry API for embedding tools and scripts.

    from trifecta import Telemetry
    t = Telemetry(segment_path, level="lite")
    t.event("ast.parse", {"file": "a.py"}, {"status": "ok"}, 3)
    t.flush()

FOUNDATION VERSION: completed by the telemetry issue (JSONL sink).
"""

from __future__ import annotations

from pathlib import Path

from trifecta.adapters.system.clock import SystemClock
from trifecta.application.telemetry import TelemetryService


class Telemetry(TelemetryService):
    def __init__(
        self, segment_path: str | Path, level: str = "lite", run_id: str | None = None
    ) -> None:
        from trifecta.bootstrap import segment_label

        root = Path(segment_path).resolve()
        super().__init__(None, SystemClock(), segment_label(root), run_id=run_id, level=level)
