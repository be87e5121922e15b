"""The container-free composition of ``ast resolve`` and ``ast definition`` (ADR 0010).

``FastSymbols`` builds what the two commands need, with the same adapters, settings and
telemetry wiring as the ``# ---- skeletons`` and ``# ---- symbols`` blocks of
``trifecta.bootstrap.Container`` (a test checks they agree): the skeleton cache, the ``ast``
parser with the Tree-sitter fallback (``tree_sitter`` itself loads only when ``ast`` fails),
the SQLite name table and, when the language server is asked, the warm server's client.
It never imports ``dependency_injector``, the packs or the in-process pyright adapter:
``lsp.mode = "process"`` (which needs the pyright Resource) goes through the container.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trifecta.adapters.config.loader import load_settings
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.jsonl_telemetry.pack_state import pack_state_reader
from trifecta.adapters.name_index.store import SqliteNameIndexStore
from trifecta.adapters.python_ast.parser import AstSkeletonParser
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.system.clock import SystemClock
from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser
from trifecta.application.skeletons import ExtractSkeleton
from trifecta.application.symbol_index import SymbolIndex
from trifecta.application.symbols import ResolvePosition, ResolveSelector
from trifecta.domain.errors import UsageError
from trifecta.domain.model import Skeleton
from trifecta.domain.ports import LanguageServer
from trifecta.telemetry_api import jsonl_telemetry

# The container's paths (bootstrap.skeleton_cache_path / name_index_path), repeated here
# so this module does not import bootstrap; the agreement test compares them.
CACHE_DIR = Path("_ctx") / "cache"
SKELETON_CACHE = "skeletons.sqlite3"
NAME_INDEX = "symbol_names.sqlite3"


def fast_symbols_apply(settings: Mapping[str, Any], no_lsp: bool) -> bool:
    """Whether a resolve with these settings can skip the container: the language server
    is not asked (``--no-lsp``, ``lsp.enabled = false``) or it is the warm server's client
    (``lsp.mode = "daemon"``). An in-process pyright is the container's Resource."""

    lsp = settings["lsp"]
    return no_lsp or not lsp["enabled"] or lsp["mode"] == "daemon"


class FastSymbols:
    """A segment's resolve use cases and the telemetry service they record to."""

    def __init__(
        self,
        segment: Path,
        flags: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """``settings``: already merged by ``load_settings(segment, flags)`` (not re-read)."""

        if settings is None:
            settings = load_settings(segment, flags)
        root = Path(settings["segment"])
        cache_settings = settings["cache"]
        clock = SystemClock()
        reader = LocalFileReader(root, max_bytes=settings["files"]["max_bytes"])
        self.settings = dict(settings)
        self.telemetry = jsonl_telemetry(
            root,
            settings,
            clock,
            pack_state=pack_state_reader(root),
            bytes_read=lambda: {str(m): n for m, n in reader.bytes_read().items()},
        )
        cache_dir = root.resolve() / CACHE_DIR
        cache = SqliteSkeletonCache(
            path=cache_dir / SKELETON_CACHE,
            clock=clock,
            max_bytes=cache_settings["max_bytes"],
            max_entry_bytes=cache_settings["max_entry_bytes"],
        )
        extract = ExtractSkeleton(
            reader=reader,
            primary=AstSkeletonParser(),
            fallback=TreeSitterSkeletonParser(),
            cache=cache,
            clock=clock,
            telemetry=self.telemetry,
        )

        def skeleton_of(path: str) -> Skeleton:
            return extract.execute(path).skeleton

        name_store = SqliteNameIndexStore(path=cache_dir / NAME_INDEX)
        index = SymbolIndex(reader=reader, skeleton_of=skeleton_of, store=name_store)
        self._closers = (cache.close, name_store.close)
        self._parts = (index, reader, clock)
        self._lsp: LanguageServer | None = None

    def close(self) -> None:
        """Release the skeleton cache's and the name index's SQLite connections and the
        warm-server connection."""

        for close in self._closers:
            close()
        if self._lsp is not None:
            self._lsp.shutdown()

    def language_server(self) -> LanguageServer:
        """The warm server's client (``lsp.mode = "daemon"``), built on first use so a
        ``--no-lsp`` call never imports it."""

        if self._lsp is None:
            lsp = self.settings["lsp"]
            if lsp["mode"] != "daemon":
                raise UsageError(f"lsp.mode={lsp['mode']!r} is served by the container only")
            from trifecta.adapters.lsp_daemon.client import DaemonLanguageServer

            _, _, clock = self._parts
            root = Path(self.settings["segment"])
            self._lsp = DaemonLanguageServer(root=root, clock=clock, autostart=lsp["autostart"])
        return self._lsp

    def resolve_selector(self, use_lsp: bool) -> ResolveSelector:
        index, _, clock = self._parts
        lsp = self.language_server() if use_lsp else None
        return ResolveSelector(lsp=lsp, index=index, telemetry=self.telemetry, clock=clock)

    def resolve_position(self, use_lsp: bool) -> ResolvePosition:
        index, reader, clock = self._parts
        lsp = self.language_server() if use_lsp else None
        return ResolvePosition(
            lsp=lsp, index=index, reader=reader, telemetry=self.telemetry, clock=clock
        )
