"""The embedding API: open a segment, then call its capabilities from Python.

    import trifecta
    with trifecta.open_segment("path/to/repo") as seg:
        hits = seg.search("HTTPServer").hits

The CLI uses the same facade. Everything is built by the one composition root
(``trifecta.bootstrap.Root``), on first use: one root per ``Segment``, so one telemetry
service and one ``run_id`` for everything a segment does. A request left without a limit,
budget or timeout takes it from the settings (``RequestDefaults``).

(About 300 lines on purpose: one method per capability, each a few lines of delegation,
so the whole public surface reads in one place.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from trifecta.application.packs.build import BuildProgress, BuildReport
    from trifecta.application.packs.get import GetRequest, GetResult
    from trifecta.application.packs.search import SearchRequest, SearchResult
    from trifecta.application.packs.stats import PackStatsReport
    from trifecta.application.packs.validate import ValidationReport
    from trifecta.application.settings import RequestDefaults
    from trifecta.application.skeletons.use_cases import (
        ModuleSymbols,
        SkeletonBatch,
        SkeletonResult,
    )
    from trifecta.application.symbols.use_cases import SymbolRequest
    from trifecta.application.telemetry.service import TelemetryService
    from trifecta.bootstrap import Root
    from trifecta.domain.model import Resolution, Selector


class Segment:
    """A segment opened for use: every capability of trifecta on one directory."""

    def __init__(
        self,
        path: str | Path,
        settings: Mapping[str, Any] | None = None,
        *,
        config: str | Path | None = None,
    ) -> None:
        self._path = Path(path)
        self._settings = settings
        self._config = config
        self._built: Root | None = None
        self.root = self._path.resolve()

    @classmethod
    def from_root(cls, root: Root) -> Segment:
        """A segment on an already built composition root (tests override its adapter
        providers with fakes first)."""

        segment = cls(root.root)
        segment._built = root
        return segment

    @property
    def _root(self) -> Root:
        """The composition root, built on first use."""

        if self._built is None:
            from trifecta.bootstrap import Root

            self._built = Root(self._path, self._settings, config=self._config)
        return self._built

    @property
    def container(self) -> Root:
        """The composition root behind this segment (built on first use)."""

        return self._root

    @property
    def settings(self) -> dict[str, Any]:
        """The merged settings of this segment (defaults < file < ``TRIFECTA_*`` < given)."""

        return self._root.settings

    @property
    def defaults(self) -> RequestDefaults:
        from trifecta.application.settings import RequestDefaults

        return RequestDefaults(self._root.settings)

    @property
    def telemetry(self) -> TelemetryService:
        return self._root.telemetry

    # ---- symbols -------------------------------------------------------------------------

    def _symbol_request(
        self, query: str, timeout_ms: int | None, require_lsp: bool, no_lsp: bool
    ) -> SymbolRequest:
        from trifecta.application.symbols.use_cases import symbol_request

        return symbol_request(
            query,
            self._root.settings["lsp"],
            timeout_ms=timeout_ms,
            require_lsp=require_lsp,
            no_lsp=no_lsp,
        )

    def _language_server(self, request: SymbolRequest) -> Any:
        return self._root.symbols.language_server() if request.use_lsp else None

    def resolve(
        self,
        selector: str,
        timeout_ms: int | None = None,
        require_lsp: bool = False,
        no_lsp: bool = False,
    ) -> Resolution:
        """Where ``sym://python/mod/pkg.mod#Name`` / ``pkg.mod:Name`` is defined."""

        request = self._symbol_request(selector, timeout_ms, require_lsp, no_lsp)
        symbols = self._root.symbols
        use_case = symbols.resolve_selector(lsp=self._language_server(request))
        return use_case.execute(request)

    def definition(
        self,
        position: str,
        timeout_ms: int | None = None,
        require_lsp: bool = False,
        no_lsp: bool = False,
    ) -> Resolution:
        """The definition of the identifier at ``FILE:LINE:COL`` (1-based)."""

        request = self._symbol_request(position, timeout_ms, require_lsp, no_lsp)
        symbols = self._root.symbols
        use_case = symbols.resolve_position(lsp=self._language_server(request))
        return use_case.execute(request)

    def lsp_status(self) -> dict[str, Any] | None:
        """The warm server's status, or None when none runs for this segment."""

        status: dict[str, Any] | None = self._root.symbols.lsp_client().status()
        return status

    def lsp_start(self, wait_ms: int | None = None) -> dict[str, Any] | None:
        """Start the warm server (if needed) and wait until it is ready or ``wait_ms``.
        Raises ``LanguageServerUnavailable`` (no server left running) when it cannot start
        pyright, e.g. the binary is missing."""

        from trifecta.domain.errors import LanguageServerError, LanguageServerUnavailable

        client = self._root.symbols.lsp_client()
        if client.status() is None:
            client.launch()
        wait = int(wait_ms if wait_ms is not None else self.defaults.lsp_ready_timeout_ms)
        try:
            client.wait_ready(wait)
        except LanguageServerError as e:
            client.stop_server(5_000)  # never leave a server that cannot serve
            reason = client.failure(None) or (str(e).splitlines()[0] if str(e) else "")
            raise LanguageServerUnavailable(reason or "pyright could not be started") from e
        status: dict[str, Any] | None = client.status()
        return status

    def lsp_warm(self, wait_ms: int) -> bool:
        """Start this segment's language server (``lsp.mode``) with its telemetry listener
        and wait up to ``wait_ms`` until it can answer; True when it can. Raises a
        ``LanguageServerError`` when pyright cannot start. For long-lived drivers (the MCP
        server), which call it on a thread that lives as long as the server."""

        symbols = self._root.symbols
        server = symbols.language_server()
        server.start(symbols.lsp_listener())
        return bool(server.wait_ready(wait_ms))

    def lsp_stop(self) -> bool:
        """Stop the warm server; False when none was running."""

        stopped: bool = self._root.symbols.lsp_client().stop_server()
        return stopped

    def lsp_serve(self, idle_timeout_s: int | None = None) -> None:
        """Run the warm server in the foreground (``trifecta lsp serve``)."""

        if idle_timeout_s is not None:
            self._root.core.config.lsp.idle_timeout_s.from_value(idle_timeout_s)
        self._root.symbols.lsp_daemon().serve()

    # ---- telemetry -------------------------------------------------------------------------

    def telemetry_summary(self) -> dict[str, Any]:
        """Every stored event of this segment summarised (all runs), with the cumulative
        counters and the telemetry health figures (``trifecta telemetry summary``)."""

        summary: dict[str, Any] = self._root.core.telemetry_summary().run()
        return summary

    def telemetry_export(
        self, endpoint: str, since: str | None = None, timeout_ms: int = 10_000
    ) -> dict[str, Any]:
        """Send the stored events (at or after ``since``) as OTLP spans to the collector
        at ``endpoint``; the same events always give the same span ids (idempotent).
        Needs the ``trifecta[otel]`` extra (``trifecta telemetry export``)."""

        return self._root.telemetry_export(endpoint, since, timeout_ms)

    # ---- context packs ---------------------------------------------------------------------

    def build(
        self,
        incremental: bool = False,
        progress: Callable[[BuildProgress], None] | None = None,
        jobs: int | None = None,
    ) -> BuildReport:
        """Build the context pack (or sync it with ``incremental=True``). ``progress`` is
        called with a ``BuildProgress`` (files done / total, seconds elapsed) as files are
        cut; ``jobs``: worker processes (default the ``build.jobs`` setting, 0 = all cores,
        1 = in this process)."""

        return self.ctx_build(incremental, progress, jobs)

    def search(
        self, query: str, limit: int | None = None, sync: bool = False, files: bool = False
    ) -> SearchResult:
        """Ranked hits for ``query`` (``result.hits[i].chunk.id`` feeds ``get``); with
        ``files``, ``result.files`` ranks distinct files, each with its best chunks.
        ``limit`` defaults to the ``search.limit`` setting."""

        from trifecta.application.packs.search import SearchRequest

        limit = self.defaults.search_limit if limit is None else limit
        return self.ctx_search(SearchRequest(query=query, limit=limit, sync=sync, files=files))

    def get(
        self,
        ids: Sequence[str],
        mode: str = "excerpt",
        budget_token_est: int | None = None,
        query: str | None = None,
        max_chunks: int | None = None,
        stop_on_evidence: bool = False,
        sync: bool = False,
    ) -> GetResult:
        """Chunks by id in ``mode`` (skeleton / excerpt / raw) within the token budget;
        ``budget_token_est`` and ``max_chunks`` default to the ``get.*`` settings."""

        from trifecta.application.packs.get import GetRequest
        from trifecta.domain.model import ReadMode

        defaults = self.defaults
        request = GetRequest(
            ids=tuple(ids),
            mode=ReadMode(mode),
            budget_token_est=(
                defaults.get_budget_token_est if budget_token_est is None else budget_token_est
            ),
            max_chunks=defaults.get_max_chunks if max_chunks is None else max_chunks,
            stop_on_evidence=stop_on_evidence,
            query=query,
            sync=sync,
        )
        return self.ctx_get(request)

    def ctx_build(
        self,
        incremental: bool = False,
        progress: Callable[[BuildProgress], None] | None = None,
        jobs: int | None = None,
    ) -> BuildReport:
        """Build the context pack (``incremental``: sync, re-reading only changed files)."""

        report: BuildReport = self._root.packs.build().run(incremental, progress, jobs)
        return report

    def ctx_search(self, request: SearchRequest) -> SearchResult:
        """Ranked search over the pack, with a freshness report."""

        return self._root.packs.search().run(request)

    def ctx_get(self, request: GetRequest) -> GetResult:
        """Chunks by id within a token budget."""

        result: GetResult = self._root.packs.get().run(request)
        return result

    def ctx_validate(self, changed: Collection[str] | None = None) -> ValidationReport:
        """Schema, hashes, missing and new files, index consistency; with ``changed`` (what
        a sync just re-read) only those files are hashed and no listing is made."""

        report: ValidationReport = self._root.packs.validate().run(changed)
        return report

    def ctx_stats(self, usage: bool = True) -> PackStatsReport:
        """Pack facts and (``usage``) usage from telemetry, which reads every stored event."""

        report: PackStatsReport = self._root.packs.stats().run(usage)
        return report

    # ---- skeletons -----------------------------------------------------------------------

    def skeleton(self, path: str) -> SkeletonResult:
        """The skeleton of one segment file (segment-relative path), cached by content.
        Raises ``InputError`` subclasses for unreadable or non-Python (not .py/.pyi) files,
        ``ParseFailed`` if no parser can read it."""

        return self._root.skeletons.extract().execute(path)

    def skeletons(self, paths: Sequence[str]) -> SkeletonBatch:
        """Skeletons of files and directories (absolute; ``./``/``../`` from the current
        directory; other relative paths from the segment if they exist there, else from the
        current directory); failures are reported per path, never raised."""

        batch: SkeletonBatch = self._root.skeletons.extract_many().execute(paths)
        return batch

    def module_symbols(self, selector: str | Selector) -> ModuleSymbols:
        """``sym://python/mod/pkg.mod[#Member]`` (or ``pkg.mod[:Member]``): the module's
        skeleton, narrowed to the member and its children when one is named."""

        from trifecta.domain.selector import parse_selector

        parsed = parse_selector(selector) if isinstance(selector, str) else selector
        answer: ModuleSymbols = self._root.skeletons.module_symbols().execute(parsed)
        return answer

    def close(self) -> None:
        """Flush telemetry and stop any language server this segment started."""

        if self._built is not None:
            self._built.close()

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


def find_segment(cwd: str | Path = ".") -> tuple[Path, str]:
    """The segment a command run in ``cwd`` works on when none is named: the nearest
    directory upwards whose ``_ctx/`` holds a pack or a ``trifecta.toml``, else the git
    work-tree root, else ``cwd``. Returns (directory, how: ``_ctx`` | ``git`` | ``cwd``)."""

    from trifecta.bootstrap import discover_segment

    return discover_segment(Path(cwd))
