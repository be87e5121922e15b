"""The container-free composition of ``ctx search``, the call agents make most.

Importing ``dependency_injector`` plus every adapter and use case costs ~60 ms per CLI
process; a search needs a handful of objects. ``FastSearch`` builds exactly those, with the
same settings and the same telemetry wiring as ``trifecta.bootstrap.Container`` (a test
checks they agree). ``--sync`` and every other command go through the container.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trifecta.adapters.config.loader import load_settings
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.git.reader import GitRepoStateReader
from trifecta.adapters.jsonl_telemetry.pack_state import pack_state_reader
from trifecta.adapters.jsonl_telemetry.sink import JsonlTelemetrySink
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.adapters.system.clock import SystemClock
from trifecta.adapters.system.identity import home_and_user
from trifecta.adapters.system.labels import segment_label
from trifecta.application.packs.config import PackSettings
from trifecta.application.packs.search import SearchPack
from trifecta.application.telemetry import TelemetryService


class FastSearch:
    """A segment's search use case and the telemetry service it records to."""

    def __init__(self, segment: Path, flags: Mapping[str, Any] | None = None) -> None:
        settings = load_settings(segment, flags)
        root = Path(settings["segment"])
        telemetry_settings = settings["telemetry"]
        clock = SystemClock()
        reader = LocalFileReader(root, max_bytes=settings["files"]["max_bytes"])
        home, user = home_and_user()
        self.settings = settings
        self.telemetry = TelemetryService(
            JsonlTelemetrySink(
                directory=root / "_ctx" / "telemetry",
                rotate_bytes=telemetry_settings["rotate_bytes"],
                lock_timeout_ms=telemetry_settings["lock_timeout_ms"],
            ),
            clock,
            segment_label(root),
            level=telemetry_settings["level"],
            segment_root=str(root),
            home=home,
            user=user,
            repo=GitRepoStateReader(root=root),
            pack_state=pack_state_reader(root),
            bytes_read=lambda: {str(m): n for m, n in reader.bytes_read().items()},
        )
        self.search = SearchPack(
            index=SqliteSearchIndex(root),
            store=JsonPackStore(root),
            reader=reader,
            clock=clock,
            telemetry=self.telemetry,
            settings=PackSettings.from_settings(settings),
            builder=None,
        )
