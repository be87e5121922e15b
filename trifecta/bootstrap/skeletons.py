"""The skeletons capability: ``ast skeleton``, ``ast symbols`` and the cached skeletons the
symbol index reads. ``tree_sitter`` itself loads only when ``ast`` cannot parse a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from trifecta.adapters.python_ast.parser import AstSkeletonParser
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser
from trifecta.application.skeletons.use_cases import ExtractSkeleton
from trifecta.bootstrap._di import containers, deferred, providers
from trifecta.domain.errors import ParseFailed
from trifecta.domain.model import ReadMode, Skeleton
from trifecta.domain.ports import FileReader


def skeleton_cache_path(root: Path) -> Path:
    """``<segment>/_ctx/cache/skeletons.sqlite3`` (created on first use)."""

    return root.resolve() / "_ctx" / "cache" / "skeletons.sqlite3"


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


class Skeletons(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    config = providers.Configuration()

    ast_parser = providers.Singleton(AstSkeletonParser)
    tree_sitter_parser = providers.Singleton(TreeSitterSkeletonParser)
    cache = providers.Singleton(
        SqliteSkeletonCache,
        path=providers.Callable(skeleton_cache_path, core.root),
        clock=core.clock,
        max_bytes=config.cache.max_bytes,
        max_entry_bytes=config.cache.max_entry_bytes,
    )
    extract = providers.Singleton(
        ExtractSkeleton,
        reader=core.file_reader,
        primary=ast_parser,
        fallback=tree_sitter_parser,
        cache=cache,
        clock=core.clock,
        telemetry=core.telemetry,
    )
    skeleton_of = providers.Singleton(cached_skeletons, extract=extract)
    extract_many = providers.Factory(
        deferred("trifecta.application.skeletons.use_cases:ExtractSkeletons"),
        reader=core.file_reader,
        extract=extract,
        clock=core.clock,
        telemetry=core.telemetry,
    )
    module_symbols = providers.Factory(
        deferred("trifecta.application.skeletons.use_cases:SelectModuleSymbols"),
        reader=core.file_reader,
        extract=extract,
        clock=core.clock,
        telemetry=core.telemetry,
    )
