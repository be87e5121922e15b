"""The packs capability: build, sync, search, get, validate, stats (context packs).

Search is the hot path (agents call it per question, one process each), so this module
imports only what a plain search builds; the builder, get, validate, stats and the parsers
are ``deferred`` (imported when first built).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from trifecta.adapters.git.history import GitChangeHistory
from trifecta.adapters.jsonl_telemetry.pack_state import read_pack_state
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.application.packs.config import PackSettings
from trifecta.application.packs.freshness import WatchedFreshness
from trifecta.application.packs.search import SearchPack
from trifecta.bootstrap._di import containers, deferred, providers
from trifecta.domain.errors import TrifectaError
from trifecta.domain.ports import Clock


def watched_freshness(root: Path, enabled: bool, clock: Clock) -> WatchedFreshness | None:
    """``search.watch``: a ``WatchedFreshness`` over the operating system's change feed,
    for long-lived processes (the MCP server); None when off or when there is no feed."""

    if not enabled:
        return None
    from trifecta.adapters.filesystem.changes import make_change_feed

    feed = make_change_feed(root)
    return None if feed is None else WatchedFreshness(feed, clock)


def pack_state_from_index(
    root: Path, index: SqliteSearchIndex, store: JsonPackStore
) -> Callable[[], dict[str, Any] | None]:
    """``pack_state`` for ``last_run.json`` without re-hashing the pack: the index records
    the sha256 of the pack it was built from; when the pack file is still that one (same
    size and mtime) it is the value ``read_pack_state`` computes (~6 ms on a 6 MB pack)."""

    def read() -> dict[str, Any] | None:
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

    return read


class Packs(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    config = providers.Configuration()

    pack_store = providers.Singleton(JsonPackStore, root=core.root)
    search_index = providers.Singleton(SqliteSearchIndex, root=core.root)
    settings = providers.Callable(PackSettings.from_settings, config)
    pack_state = providers.Callable(pack_state_from_index, core.root, search_index, pack_store)
    history = providers.Singleton(GitChangeHistory, root=core.root, commits=config.search.history)

    ast_parser = providers.Singleton(
        deferred("trifecta.adapters.python_ast.parser:AstSkeletonParser")
    )
    tree_sitter_parser = providers.Singleton(
        deferred("trifecta.adapters.treesitter.parser:TreeSitterSkeletonParser")
    )

    # The segment listing (git's ignore rules) and the factory of the chunker each build
    # worker process builds for itself (plain values, picklable).
    lister = providers.Singleton(
        deferred("trifecta.adapters.build.listing:LocalSegmentLister"),
        root=core.root,
        max_bytes=config.files.max_bytes,
        skip_dirs=config.files.skip_dirs,
    )
    chunker = providers.Callable(
        deferred("trifecta.adapters.build.workers:chunker_factory"),
        root=core.root,
        max_bytes=config.files.max_bytes,
        cache_path=providers.Callable(
            deferred("trifecta.bootstrap.skeletons:skeleton_cache_path"), core.root
        ),
        cache_max_bytes=config.cache.max_bytes,
        cache_max_entry_bytes=config.cache.max_entry_bytes,
        demote=config.search.demote,
    )
    build = providers.Factory(
        deferred("trifecta.application.packs.build:BuildPack"),
        reader=core.file_reader,
        parser=ast_parser,
        fallback_parser=tree_sitter_parser,
        store=pack_store,
        index=search_index,
        clock=core.clock,
        telemetry=core.telemetry,
        settings=settings,
        lister=lister,
        chunker=chunker,
        jobs=config.build.jobs,
        history=history,
    )
    # Search and get receive the builder as a provider (called only for --sync), search
    # the lister too.
    watched = providers.Singleton(
        watched_freshness, root=core.root, enabled=config.search.watch, clock=core.clock
    )
    search = providers.Factory(
        SearchPack,
        index=search_index,
        store=pack_store,
        reader=core.file_reader,
        clock=core.clock,
        telemetry=core.telemetry,
        settings=settings,
        builder=build.provider,
        lister=lister.provider,  # made only when a directory moved (it imports subprocess)
        watched=watched,
        history=history,
    )
    get = providers.Factory(
        deferred("trifecta.application.packs.get:GetChunks"),
        index=search_index,
        store=pack_store,
        reader=core.file_reader,
        parser=ast_parser,
        fallback_parser=tree_sitter_parser,
        clock=core.clock,
        telemetry=core.telemetry,
        settings=settings,
        builder=build.provider,
    )
    validate = providers.Factory(
        deferred("trifecta.application.packs.validate:ValidatePack"),
        store=pack_store,
        index=search_index,
        reader=core.file_reader,
        clock=core.clock,
        telemetry=core.telemetry,
        settings=settings,
        lister=lister,
    )
    stats = providers.Factory(
        deferred("trifecta.application.packs.stats:PackStats"),
        store=pack_store,
        index=search_index,
        sink=core.telemetry_sink,
        clock=core.clock,
        telemetry=core.telemetry,
        parser=ast_parser.provided.name,
    )
