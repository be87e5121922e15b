"""The container-free composition of ``ctx search`` and ``ctx get``, the calls agents make
most (ADR 0010).

Importing ``dependency_injector`` plus every adapter and use case costs ~60 ms per CLI
process; a search needs a handful of objects. ``FastPacks`` builds exactly those, with the
same settings and the same telemetry wiring as ``trifecta.bootstrap.Container`` (a test
checks they agree). ``--sync`` and every other command go through the container.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trifecta.adapters.config.loader import load_settings
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.jsonl_telemetry.pack_state import read_pack_state
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.adapters.system.clock import SystemClock
from trifecta.application.packs.config import PackSettings
from trifecta.application.packs.search import SearchPack
from trifecta.domain.errors import TrifectaError
from trifecta.telemetry_api import jsonl_telemetry

if TYPE_CHECKING:
    from trifecta.application.packs.get import GetChunks


def pack_state_from_index(
    root: Path, index: SqliteSearchIndex, store: JsonPackStore
) -> dict[str, Any] | None:
    """``pack_state`` for ``last_run.json`` without re-hashing the pack: the index records
    the sha256 of the pack it was built from; when the pack file is still that one (same
    size and mtime) it is the same value ``read_pack_state`` computes."""

    stamp = store.stamp()
    try:
        info = index.info()
    except TrifectaError:
        return read_pack_state(root)
    if stamp is None or (info.pack_size, info.pack_mtime_ns) != stamp:
        return read_pack_state(root)
    try:
        mtime = store.path.stat().st_mtime  # the float read_pack_state reports
    except OSError:
        return read_pack_state(root)
    return {"pack_sha": info.pack_sha[:16], "pack_mtime": mtime}


class FastPacks:
    """A segment's search and get use cases and the telemetry service they record to."""

    def __init__(self, segment: Path, flags: Mapping[str, Any] | None = None) -> None:
        settings = load_settings(segment, flags)
        root = Path(settings["segment"])
        clock = SystemClock()
        reader = LocalFileReader(root, max_bytes=settings["files"]["max_bytes"])
        index = SqliteSearchIndex(root)
        store = JsonPackStore(root)
        pack_settings = PackSettings.from_settings(settings)
        self.settings = settings
        self.telemetry = jsonl_telemetry(
            root,
            settings,
            clock,
            pack_state=lambda: pack_state_from_index(root, index, store),
            bytes_read=lambda: {str(m): n for m, n in reader.bytes_read().items()},
        )
        self._parts = (index, store, reader, clock, pack_settings)
        self._get: GetChunks | None = None
        self.search = SearchPack(
            index=index,
            store=store,
            reader=reader,
            clock=clock,
            telemetry=self.telemetry,
            settings=pack_settings,
            builder=None,
        )

    def close(self) -> None:
        """Release the index's SQLite connection (telemetry releases its own on flush)."""

        self._parts[0].close()

    @property
    def get(self) -> GetChunks:
        """The get use case, built on first use (a search never imports the parsers)."""

        if self._get is None:
            from trifecta.adapters.python_ast.parser import AstSkeletonParser
            from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser
            from trifecta.application.packs.get import GetChunks

            index, store, reader, clock, pack_settings = self._parts
            self._get = GetChunks(
                index=index,
                store=store,
                reader=reader,
                parser=AstSkeletonParser(),
                fallback_parser=TreeSitterSkeletonParser(),
                clock=clock,
                telemetry=self.telemetry,
                settings=pack_settings,
                builder=None,
            )
        return self._get
