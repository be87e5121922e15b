"""``trifecta.Telemetry``: the seed's telemetry API for embedding tools and scripts.

    from trifecta import Telemetry
    t = Telemetry(segment_path, level="lite")
    t.event("ast.parse", {"file": "a.py"}, {"status": "ok"}, 3, tokens=120)
    t.flush()

The same service the CLI uses, on the JSONL sink in ``<segment>/_ctx/telemetry/``, the
system clock, git state of the segment and redaction against the segment root, home
directory and user name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trifecta.adapters.config.loader import load_settings
from trifecta.adapters.git.reader import GitRepoStateReader
from trifecta.adapters.jsonl_telemetry.pack_state import pack_state_reader
from trifecta.adapters.jsonl_telemetry.sink import JsonlTelemetrySink
from trifecta.adapters.system.clock import SystemClock
from trifecta.adapters.system.identity import home_and_user
from trifecta.adapters.system.labels import segment_label
from trifecta.application.settings import env_layer, merge_settings
from trifecta.application.telemetry import TelemetryService
from trifecta.domain.ports import Clock


def jsonl_telemetry(
    root: Path,
    settings: Mapping[str, Any],
    clock: Clock,
    *,
    pack_state: Callable[[], Mapping[str, Any] | None],
    bytes_read: Callable[[], Mapping[str, int]],
) -> TelemetryService:
    """The telemetry service the container builds (JSONL sink under ``_ctx/telemetry``,
    git state, redaction against root, home and user), for the container-free wirings."""

    config = settings["telemetry"]
    home, user = home_and_user()
    return TelemetryService(
        JsonlTelemetrySink(
            directory=root / "_ctx" / "telemetry",
            rotate_bytes=config["rotate_bytes"],
            lock_timeout_ms=config["lock_timeout_ms"],
        ),
        clock,
        segment_label(root),
        level=config["level"],
        segment_root=str(root),
        home=home,
        user=user,
        repo=GitRepoStateReader(root=root),
        pack_state=pack_state,
        bytes_read=bytes_read,
    )


class Telemetry(TelemetryService):
    """``level``: ``off`` / ``lite`` / ``full``; when not given, the segment's settings decide
    (``TRIFECTA_TELEMETRY``, then ``_ctx/trifecta.toml``, then ``lite``), as for the CLI.
    ``rotate_bytes`` and ``lock_timeout_ms`` likewise default to the settings."""

    def __init__(
        self,
        segment_path: str | Path,
        level: str | None = None,
        run_id: str | None = None,
        *,
        rotate_bytes: int | None = None,
        lock_timeout_ms: int | None = None,
    ) -> None:
        root = Path(segment_path).resolve()
        flags: dict[str, Any] = {}
        for key, value in (
            ("level", level),
            ("rotate_bytes", rotate_bytes),
            ("lock_timeout_ms", lock_timeout_ms),
        ):
            if value is not None:
                flags[key] = value
        layer = {"telemetry": flags} if flags else {}
        if root.is_dir():
            settings = load_settings(root, layer)
        else:  # not created yet: the sink creates it on the first write
            settings = merge_settings(env_layer(os.environ), layer)
        config = settings["telemetry"]
        sink = JsonlTelemetrySink(
            root / "_ctx" / "telemetry",
            rotate_bytes=config["rotate_bytes"],
            lock_timeout_ms=config["lock_timeout_ms"],
        )
        home, user = home_and_user()
        super().__init__(
            sink,
            SystemClock(),
            segment_label(root),
            run_id=run_id,
            level=config["level"],
            segment_root=(str(root), os.path.abspath(segment_path)),
            home=home,
            user=user,
            repo=GitRepoStateReader(root),
            pack_state=pack_state_reader(root),
        )
        self.sink = sink
