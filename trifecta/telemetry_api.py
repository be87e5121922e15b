"""``trifecta.Telemetry``: the seed's telemetry API for embedding tools and scripts.

    from trifecta import Telemetry
    t = Telemetry(segment_path, level="lite")
    t.event("ast.parse", {"file": "a.py"}, {"status": "ok"}, 3, tokens=120)
    t.flush()

The telemetry service of the composition root's core (``trifecta.bootstrap.core``), the
same the CLI records to: the JSONL sink in ``<segment>/_ctx/telemetry/``, the system clock,
the git state of the segment, redaction against the segment root, home and user name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trifecta.application.telemetry.service import TelemetryService


def Telemetry(
    segment_path: str | Path,
    level: str | None = None,
    run_id: str | None = None,
    *,
    rotate_bytes: int | None = None,
    lock_timeout_ms: int | None = None,
) -> TelemetryService:
    """``level``: ``off`` / ``lite`` / ``full``; when not given, the segment's settings decide
    (``TRIFECTA_TELEMETRY``, then ``_ctx/trifecta.toml``, then ``lite``), as for the CLI.
    ``rotate_bytes`` and ``lock_timeout_ms`` likewise default to the settings. The segment
    directory may not exist yet (the first write creates it)."""

    from trifecta.bootstrap import Root

    flags: dict[str, Any] = {}
    for key, value in (
        ("level", level),
        ("rotate_bytes", rotate_bytes),
        ("lock_timeout_ms", lock_timeout_ms),
    ):
        if value is not None:
            flags[key] = value
    layer = {"telemetry": flags} if flags else {}
    return Root(segment_path, layer, run_id=run_id, allow_missing=True).telemetry
