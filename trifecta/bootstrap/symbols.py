"""The symbols capability: ``ast resolve``, ``ast definition`` and the warm server.

The language server is the warm server's client (``lsp.mode = "daemon"``) or an in-process
pyright (``"process"``, a Resource shut down with the segment); both are ``deferred``, so a
``--no-lsp`` call imports neither. Skeletons come from the skeletons container.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from trifecta.adapters.name_index.store import SqliteNameIndexStore
from trifecta.application.symbols.index import SymbolIndex
from trifecta.application.symbols.use_cases import ResolvePosition, ResolveSelector
from trifecta.bootstrap._di import containers, deferred, providers
from trifecta.domain.ports import Clock

if TYPE_CHECKING:
    from trifecta.adapters.pyright.server import PyrightLanguageServer


def name_index_path(root: Path) -> Path:
    """``<segment>/_ctx/cache/symbol_names.sqlite3`` (the segment-wide name table)."""

    return root.resolve() / "_ctx" / "cache" / "symbol_names.sqlite3"


def pyright_process(root: Path, clock: Clock) -> Iterator[PyrightLanguageServer]:
    """The pyright process as a Resource: spawned on first use, always shut down."""

    from trifecta.adapters.pyright.server import PyrightLanguageServer

    server = PyrightLanguageServer(root, clock)
    try:
        yield server
    finally:
        server.shutdown()


class Symbols(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    skeletons = providers.DependenciesContainer()
    config = providers.Configuration()

    pyright = providers.Resource(pyright_process, root=core.root, clock=core.clock)
    lsp_client = providers.Singleton(
        deferred("trifecta.adapters.lsp_daemon.client:DaemonLanguageServer"),
        root=core.root,
        clock=core.clock,
        autostart=config.lsp.autostart,
    )
    language_server = providers.Selector(config.lsp.mode, daemon=lsp_client, process=pyright)
    name_store = providers.Singleton(
        SqliteNameIndexStore, path=providers.Callable(name_index_path, core.root)
    )
    index = providers.Singleton(
        SymbolIndex, reader=core.file_reader, skeleton_of=skeletons.skeleton_of, store=name_store
    )
    # ``lsp`` is given per call: the language server, or None when it is not asked.
    resolve_selector = providers.Factory(
        ResolveSelector, index=index, telemetry=core.telemetry, clock=core.clock
    )
    resolve_position = providers.Factory(
        ResolvePosition,
        index=index,
        reader=core.file_reader,
        telemetry=core.telemetry,
        clock=core.clock,
    )
    lsp_listener = providers.Factory(
        deferred("trifecta.application.symbols.use_cases:LspTelemetry"), telemetry=core.telemetry
    )
    lsp_daemon = providers.Factory(
        deferred("trifecta.adapters.lsp_daemon.server:LspDaemon"),
        root=core.root,
        server=pyright,
        clock=core.clock,
        idle_timeout_s=config.lsp.idle_timeout_s,
        listener=lsp_listener,
    )
