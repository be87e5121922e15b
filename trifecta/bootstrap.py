"""The composition root: the only module that imports ``dependency_injector``.

``Container`` wires adapters (Singletons) into use cases (Factories); the pyright process
is a Resource so it starts lazily and shuts down cleanly. Inner layers never see it: the CLI
and embedders get typed objects from ``trifecta.embedding.Segment``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from trifecta.adapters.config.loader import load_settings
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.git.reader import GitRepoStateReader
from trifecta.adapters.jsonl_telemetry.pack_state import pack_state_reader
from trifecta.adapters.jsonl_telemetry.sink import JsonlTelemetrySink
from trifecta.adapters.lsp_daemon.client import DaemonLanguageServer
from trifecta.adapters.lsp_daemon.server import LspDaemon
from trifecta.adapters.name_index.store import SqliteNameIndexStore
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.adapters.pyright.server import PyrightLanguageServer
from trifecta.adapters.python_ast.parser import AstSkeletonParser
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.adapters.system.clock import SystemClock
from trifecta.adapters.system.identity import home_and_user
from trifecta.adapters.system.labels import segment_label as segment_label
from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser
from trifecta.application.packs.build import BuildPack
from trifecta.application.packs.config import PackSettings
from trifecta.application.packs.get import GetChunks
from trifecta.application.packs.search import SearchPack
from trifecta.application.packs.stats import PackStats
from trifecta.application.packs.validate import ValidatePack
from trifecta.application.skeletons import (
    ExtractSkeleton,
    ExtractSkeletons,
    SelectModuleSymbols,
)
from trifecta.application.symbol_index import SymbolIndex
from trifecta.application.symbols import LspTelemetry, ResolvePosition, ResolveSelector
from trifecta.application.telemetry import TelemetryService
from trifecta.application.telemetry_summary import SummarizeTelemetry
from trifecta.domain.errors import ParseFailed
from trifecta.domain.model import ReadMode, Skeleton
from trifecta.domain.ports import Clock, FileReader


def pack_settings(include: list[str], exclude: list[str], lock_timeout_ms: int) -> PackSettings:
    return PackSettings(tuple(include), tuple(exclude), int(lock_timeout_ms))


# ---- symbols (helpers) -------------------------------------------------------------------


def skeleton_reader(reader: FileReader) -> Callable[[str], Skeleton]:
    """path -> Skeleton, uncached and without telemetry: ``ast`` first, Tree-sitter when the
    file does not parse. For tests and benchmarks; the container uses ``cached_skeletons``.
    """

    exact, tolerant = AstSkeletonParser(), TreeSitterSkeletonParser()

    def skeleton_of(path: str) -> Skeleton:
        text = reader.read_text(path, ReadMode.SKELETON).text
        try:
            return exact.parse(text, path)
        except ParseFailed:
            return tolerant.parse(text, path)

    return skeleton_of


def cached_skeletons(extract: ExtractSkeleton) -> Callable[[str], Skeleton]:
    """path -> Skeleton through the skeleton use case (its cache, its telemetry)."""

    def skeleton_of(path: str) -> Skeleton:
        return extract.execute(path).skeleton

    return skeleton_of


def name_index_path(root: Path) -> Path:
    """``<segment>/_ctx/cache/symbol_names.sqlite3`` (the segment-wide name table)."""

    return root.resolve() / "_ctx" / "cache" / "symbol_names.sqlite3"


def pyright_process(root: Path, clock: Clock) -> Iterator[PyrightLanguageServer]:
    """The pyright process as a Resource: spawned on first use, always shut down."""

    server = PyrightLanguageServer(root, clock)
    try:
        yield server
    finally:
        server.shutdown()


def skeleton_cache_path(root: Path) -> Path:
    """``<segment>/_ctx/cache/skeletons.sqlite3`` (created on first use)."""

    return root.resolve() / "_ctx" / "cache" / "skeletons.sqlite3"


class Container(containers.DeclarativeContainer):
    config = providers.Configuration(strict=True)

    root = providers.Callable(Path, config.segment)
    label = providers.Callable(segment_label, root)

    # ---- core adapters -------------------------------------------------------------------
    clock = providers.Singleton(SystemClock)
    file_reader = providers.Singleton(LocalFileReader, root=root, max_bytes=config.files.max_bytes)

    # ---- telemetry -----------------------------------------------------------------------
    # The sink does no I/O until the first write, so level "off" creates no directory.
    telemetry_dir = providers.Callable(lambda root: root / "_ctx" / "telemetry", root)
    telemetry_sink = providers.Singleton(
        JsonlTelemetrySink,
        directory=telemetry_dir,
        rotate_bytes=config.telemetry.rotate_bytes,
        lock_timeout_ms=config.telemetry.lock_timeout_ms,
    )
    repo_state = providers.Singleton(GitRepoStateReader, root=root)
    identity = providers.Singleton(home_and_user)
    telemetry = providers.Singleton(
        TelemetryService,
        sink=telemetry_sink,
        clock=clock,
        segment_label=label,
        level=config.telemetry.level,
        segment_root=providers.Callable(str, root),
        home=identity.provided[0],
        user=identity.provided[1],
        repo=repo_state,
        pack_state=providers.Callable(pack_state_reader, root),
        bytes_read=file_reader.provided.bytes_read,
    )
    telemetry_summary = providers.Factory(SummarizeTelemetry, sink=telemetry_sink)

    # ---- parsers (shared by skeletons, packs and the symbol index) --------------------------
    ast_parser = providers.Singleton(AstSkeletonParser)
    tree_sitter_parser = providers.Singleton(TreeSitterSkeletonParser)

    # ---- packs ---------------------------------------------------------------------------
    # Search and get receive the builder as a provider (called only for --sync), so a
    # plain search never constructs a parser.
    pack_store = providers.Singleton(JsonPackStore, root=root)
    search_index = providers.Singleton(SqliteSearchIndex, root=root)
    pack_settings = providers.Callable(PackSettings.from_settings, config)
    pack_build = providers.Factory(
        BuildPack,
        reader=file_reader,
        parser=ast_parser,
        fallback_parser=tree_sitter_parser,
        store=pack_store,
        index=search_index,
        clock=clock,
        telemetry=telemetry,
        settings=pack_settings,
    )
    pack_search = providers.Factory(
        SearchPack,
        index=search_index,
        store=pack_store,
        reader=file_reader,
        clock=clock,
        telemetry=telemetry,
        settings=pack_settings,
        builder=pack_build.provider,
    )
    pack_get = providers.Factory(
        GetChunks,
        index=search_index,
        store=pack_store,
        reader=file_reader,
        parser=ast_parser,
        fallback_parser=tree_sitter_parser,
        clock=clock,
        telemetry=telemetry,
        settings=pack_settings,
        builder=pack_build.provider,
    )
    pack_validate = providers.Factory(
        ValidatePack,
        store=pack_store,
        index=search_index,
        reader=file_reader,
        clock=clock,
        telemetry=telemetry,
        settings=pack_settings,
    )
    pack_stats = providers.Factory(
        PackStats,
        store=pack_store,
        index=search_index,
        sink=telemetry_sink,
        clock=clock,
        telemetry=telemetry,
    )

    # ---- skeletons (issue 4) -------------------------------------------------------------
    skeleton_cache = providers.Singleton(
        SqliteSkeletonCache,
        path=providers.Callable(skeleton_cache_path, root),
        clock=clock,
        max_bytes=config.cache.max_bytes,
        max_entry_bytes=config.cache.max_entry_bytes,
    )
    extract_skeleton = providers.Factory(
        ExtractSkeleton,
        reader=file_reader,
        primary=ast_parser,
        fallback=tree_sitter_parser,
        cache=skeleton_cache,
        clock=clock,
        telemetry=telemetry,
    )
    extract_skeletons = providers.Factory(
        ExtractSkeletons,
        reader=file_reader,
        extract=extract_skeleton,
        clock=clock,
        telemetry=telemetry,
    )
    select_module_symbols = providers.Factory(
        SelectModuleSymbols,
        reader=file_reader,
        extract=extract_skeleton,
        clock=clock,
        telemetry=telemetry,
    )

    # ---- symbols -------------------------------------------------------------------------
    pyright = providers.Resource(pyright_process, root=root, clock=clock)
    lsp_client = providers.Singleton(
        DaemonLanguageServer, root=root, clock=clock, autostart=config.lsp.autostart
    )
    language_server = providers.Selector(config.lsp.mode, daemon=lsp_client, process=pyright)
    skeleton_of = providers.Singleton(cached_skeletons, extract=extract_skeleton)
    name_store = providers.Singleton(
        SqliteNameIndexStore, path=providers.Callable(name_index_path, root)
    )
    symbol_index = providers.Singleton(
        SymbolIndex, reader=file_reader, skeleton_of=skeleton_of, store=name_store
    )
    resolve_selector = providers.Factory(
        ResolveSelector,
        lsp=language_server,
        index=symbol_index,
        telemetry=telemetry,
        clock=clock,
    )
    resolve_position = providers.Factory(
        ResolvePosition,
        lsp=language_server,
        index=symbol_index,
        reader=file_reader,
        telemetry=telemetry,
        clock=clock,
    )
    lsp_listener = providers.Factory(LspTelemetry, telemetry=telemetry)
    lsp_daemon = providers.Factory(
        LspDaemon,
        root=root,
        server=pyright,
        clock=clock,
        idle_timeout_s=config.lsp.idle_timeout_s,
        listener=lsp_listener,
    )


def build_container(segment: Path, flags: Mapping[str, Any] | None = None) -> Container:
    """A container configured for ``segment`` with settings merged by precedence."""

    container = Container()
    container.config.from_dict(load_settings(segment, flags))
    return container


def close_adapters(container: Container) -> None:
    """Close the SQLite connections the container's adapters keep open (constructing an
    adapter that was never used opens nothing)."""

    container.search_index().close()
    container.skeleton_cache().close()
    container.name_store().close()
