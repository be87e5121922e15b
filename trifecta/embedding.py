"""The embedding API: open a segment, then call its capabilities from Python.

    import trifecta
    seg = trifecta.open_segment("path/to/repo")
    ...
    seg.close()

Built through the same composition root as the CLI; heavy libraries load on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from trifecta.application.packs.build import BuildReport
    from trifecta.application.packs.get import GetRequest, GetResult
    from trifecta.application.packs.search import SearchRequest, SearchResult
    from trifecta.application.packs.stats import PackStatsReport
    from trifecta.application.packs.validate import ValidationReport
    from trifecta.application.skeletons import ModuleSymbols, SkeletonBatch, SkeletonResult
    from trifecta.application.telemetry import TelemetryService
    from trifecta.bootstrap import Container
    from trifecta.domain.model import Resolution, Selector
    from trifecta.fastpath import FastPacks
    from trifecta.fastsymbols import FastSymbols


class Segment:
    """A segment opened for use: every capability of trifecta on one directory."""

    def __init__(self, path: str | Path, settings: Mapping[str, Any] | None = None) -> None:
        self._path = Path(path)
        self._settings = settings
        self._built: Container | None = None
        self._fast: FastPacks | None = None
        self._fast_symbols: FastSymbols | None = None
        self._loaded: dict[str, Any] | None = None  # merged settings, read once
        self.root = self._path.resolve()

    @property
    def _container(self) -> Container:
        """The composition root, built on first use (a plain search never builds it)."""

        if self._built is None:
            from trifecta.bootstrap import build_container

            self._built = build_container(self._path, self._settings)
        return self._built

    @property
    def telemetry(self) -> TelemetryService:
        if self._built is None and self._fast is not None:
            return self._fast.telemetry
        if self._built is None and self._fast_symbols is not None:
            return self._fast_symbols.telemetry
        telemetry: TelemetryService = self._container.telemetry()
        return telemetry

    # ---- symbols -------------------------------------------------------------------------

    def _symbols(self, no_lsp: bool) -> FastSymbols | None:
        """The container-free resolve path (ADR 0010), built on first use; None when the
        container must answer (already built, or an in-process pyright is asked)."""

        if self._built is not None:
            return None
        from trifecta.fastsymbols import FastSymbols, fast_symbols_apply

        if self._fast_symbols is not None:
            settings = self._fast_symbols.settings
        elif self._fast is not None:
            settings = self._fast.settings
        else:
            if self._loaded is None:
                from trifecta.adapters.config.loader import load_settings

                self._loaded = load_settings(self._path, self._settings)
            settings = self._loaded
        if not fast_symbols_apply(settings, no_lsp):
            return None
        if self._fast_symbols is None:
            self._fast_symbols = FastSymbols(self._path, settings=settings)
        return self._fast_symbols

    def _symbol_request(
        self, query: str, timeout_ms: int | None, require_lsp: bool, no_lsp: bool
    ) -> Any:
        from trifecta.application.symbols import SymbolRequest

        fast = self._symbols(no_lsp)
        lsp = fast.settings["lsp"] if fast is not None else self._container.config.lsp()
        timeout = int(timeout_ms if timeout_ms is not None else lsp["timeout_ms"])
        # A warm server answers at once or falls back (lsp_cold / lsp_not_ready); an
        # in-process pyright, or --require-lsp, is worth waiting for.
        patient = require_lsp or lsp["mode"] == "process"
        return SymbolRequest(
            query=query,
            timeout_ms=timeout,
            ready_wait_ms=int(lsp["ready_timeout_ms"]) if patient else timeout,
            use_lsp=bool(lsp["enabled"]) and not no_lsp,
            require_lsp=require_lsp,
        )

    def resolve(
        self,
        selector: str,
        timeout_ms: int | None = None,
        require_lsp: bool = False,
        no_lsp: bool = False,
    ) -> Resolution:
        """Where ``sym://python/mod/pkg.mod#Name`` / ``pkg.mod:Name`` is defined."""

        request = self._symbol_request(selector, timeout_ms, require_lsp, no_lsp)
        fast = self._symbols(no_lsp)
        if fast is not None:
            return fast.resolve_selector(request.use_lsp).execute(request)
        resolution: Resolution = self._container.resolve_selector().execute(request)
        return resolution

    def definition(
        self,
        position: str,
        timeout_ms: int | None = None,
        require_lsp: bool = False,
        no_lsp: bool = False,
    ) -> Resolution:
        """The definition of the identifier at ``FILE:LINE:COL`` (1-based)."""

        request = self._symbol_request(position, timeout_ms, require_lsp, no_lsp)
        fast = self._symbols(no_lsp)
        if fast is not None:
            return fast.resolve_position(request.use_lsp).execute(request)
        resolution: Resolution = self._container.resolve_position().execute(request)
        return resolution

    def lsp_status(self) -> dict[str, Any] | None:
        """The warm server's status, or None when none runs for this segment."""

        status: dict[str, Any] | None = self._container.lsp_client().status()
        return status

    def lsp_start(self, wait_ms: int | None = None) -> dict[str, Any] | None:
        """Start the warm server (if needed) and wait until it is ready or ``wait_ms``.
        Raises ``LanguageServerUnavailable`` (no server left running) when it cannot start
        pyright, e.g. the binary is missing."""

        from trifecta.domain.errors import LanguageServerError, LanguageServerUnavailable

        client = self._container.lsp_client()
        if client.status() is None:
            client.launch()
        wait = int(
            wait_ms if wait_ms is not None else self._container.config.lsp.ready_timeout_ms()
        )
        try:
            client.wait_ready(wait)
        except LanguageServerError as e:
            client.stop_server(5_000)  # never leave a server that cannot serve
            reason = client.failure(None) or (str(e).splitlines()[0] if str(e) else "")
            raise LanguageServerUnavailable(reason or "pyright could not be started") from e
        status: dict[str, Any] | None = client.status()
        return status

    def lsp_stop(self) -> bool:
        """Stop the warm server; False when none was running."""

        stopped: bool = self._container.lsp_client().stop_server()
        return stopped

    def lsp_serve(self, idle_timeout_s: int | None = None) -> None:
        """Run the warm server in the foreground (``trifecta lsp serve``)."""

        if idle_timeout_s is not None:
            self._container.config.lsp.idle_timeout_s.from_value(idle_timeout_s)
        self._container.lsp_daemon().serve()

    # ---- telemetry -------------------------------------------------------------------------

    def telemetry_summary(self) -> dict[str, Any]:
        """Every stored event of this segment summarised (all runs), with the cumulative
        counters and the telemetry health figures (``trifecta telemetry summary``)."""

        summary: dict[str, Any] = self._container.telemetry_summary().run()
        return summary

    # ---- context packs ---------------------------------------------------------------------

    def build(self, incremental: bool = False) -> BuildReport:
        """Build the context pack (or sync it with ``incremental=True``)."""

        return self.ctx_build(incremental)

    def search(
        self, query: str, limit: int = 5, sync: bool = False, files: bool = False
    ) -> SearchResult:
        """Ranked hits for ``query`` (``result.hits[i].chunk.id`` feeds ``get``); with
        ``files``, ``result.files`` ranks distinct files, each with its best chunks."""

        from trifecta.application.packs.search import SearchRequest

        return self.ctx_search(SearchRequest(query=query, limit=limit, sync=sync, files=files))

    def get(
        self,
        ids: Sequence[str],
        mode: str = "excerpt",
        budget_token_est: int = 1500,
        query: str | None = None,
    ) -> GetResult:
        """Chunks by id in ``mode`` (skeleton / excerpt / raw) within the token budget."""

        from trifecta.application.packs.get import GetRequest
        from trifecta.domain.model import ReadMode

        request = GetRequest(
            ids=tuple(ids), mode=ReadMode(mode), budget_token_est=budget_token_est, query=query
        )
        return self.ctx_get(request)

    def ctx_build(self, incremental: bool = False) -> BuildReport:
        """Build the context pack (``incremental``: sync, re-reading only changed files)."""

        report: BuildReport = self._container.pack_build().run(incremental)
        return report

    def ctx_search(self, request: SearchRequest) -> SearchResult:
        """Ranked search over the pack, with a freshness report."""

        if request.sync or self._built is not None:
            result: SearchResult = self._container.pack_search().run(request)
            return result
        return self._fast_packs().search.run(request)

    def _fast_packs(self) -> FastPacks:
        """The container-free read path (ADR 0010), built on first use."""

        if self._fast is None:
            from trifecta.fastpath import FastPacks

            self._fast = FastPacks(self._path, self._settings)
        return self._fast

    def ctx_get(self, request: GetRequest) -> GetResult:
        """Chunks by id within a token budget."""

        if request.sync or self._built is not None:
            result: GetResult = self._container.pack_get().run(request)
            return result
        return self._fast_packs().get.run(request)

    def ctx_validate(self) -> ValidationReport:
        """Schema, hashes, missing and new files, index consistency."""

        report: ValidationReport = self._container.pack_validate().run()
        return report

    def ctx_stats(self) -> PackStatsReport:
        """Pack facts and usage from telemetry."""

        report: PackStatsReport = self._container.pack_stats().run()
        return report

    # ---- skeletons (issue 4) -------------------------------------------------------------

    def skeleton(self, path: str) -> SkeletonResult:
        """The skeleton of one segment file (segment-relative path), cached by content.
        Raises ``InputError`` subclasses for unreadable or non-Python (not .py/.pyi) files,
        ``ParseFailed`` if no parser can read it."""

        from trifecta.application.skeletons import ExtractSkeleton

        extract: ExtractSkeleton = self._container.extract_skeleton()
        return extract.execute(path)

    def skeletons(self, paths: Sequence[str]) -> SkeletonBatch:
        """Skeletons of files and directories (absolute; ``./``/``../`` from the current
        directory; other relative paths from the segment if they exist there, else from the
        current directory); failures are reported per path, never raised."""

        from trifecta.application.skeletons import ExtractSkeletons

        extract: ExtractSkeletons = self._container.extract_skeletons()
        return extract.execute(paths)

    def module_symbols(self, selector: str | Selector) -> ModuleSymbols:
        """``sym://python/mod/pkg.mod[#Member]`` (or ``pkg.mod[:Member]``): the module's
        skeleton, narrowed to the member and its children when one is named."""

        from trifecta.application.skeletons import SelectModuleSymbols
        from trifecta.domain.selector import parse_selector

        parsed = parse_selector(selector) if isinstance(selector, str) else selector
        select: SelectModuleSymbols = self._container.select_module_symbols()
        return select.execute(parsed)

    def close(self) -> None:
        """Flush telemetry and stop any language server this segment started."""

        if self._fast is not None:
            self._fast.telemetry.flush()
        if self._fast_symbols is not None:
            self._fast_symbols.telemetry.flush()
        if self._built is not None:
            self._built.telemetry().flush()
            self._built.shutdown_resources()

    def __enter__(self) -> Segment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_segment(path: str | Path = ".", **settings: Any) -> Segment:
    """Open ``path`` as a segment; keyword settings override config file and environment
    (e.g. ``open_segment(".", telemetry={"level": "off"})``)."""

    return Segment(path, settings)
