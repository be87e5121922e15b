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

    from trifecta.application.skeletons import ModuleSymbols, SkeletonBatch, SkeletonResult
    from trifecta.application.telemetry import TelemetryService
    from trifecta.bootstrap import Container
    from trifecta.domain.model import Resolution, Selector


class Segment:
    """A segment opened for use: every capability of trifecta on one directory."""

    def __init__(self, path: str | Path, settings: Mapping[str, Any] | None = None) -> None:
        from trifecta.bootstrap import build_container

        self._container: Container = build_container(Path(path), settings)
        self.root = Path(self._container.config.segment())

    @property
    def telemetry(self) -> TelemetryService:
        telemetry: TelemetryService = self._container.telemetry()
        return telemetry

    # ---- symbols -------------------------------------------------------------------------

    def _symbol_request(
        self, query: str, timeout_ms: int | None, require_lsp: bool, no_lsp: bool
    ) -> Any:
        from trifecta.application.symbols import SymbolRequest

        lsp = self._container.config.lsp()
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
        resolution: Resolution = self._container.resolve_position().execute(request)
        return resolution

    def lsp_status(self) -> dict[str, Any] | None:
        """The warm server's status, or None when none runs for this segment."""

        status: dict[str, Any] | None = self._container.lsp_client().status()
        return status

    def lsp_start(self, wait_ms: int | None = None) -> dict[str, Any] | None:
        """Start the warm server (if needed) and wait until it is ready or ``wait_ms``."""

        client = self._container.lsp_client()
        if client.status() is None:
            client.launch()
        wait = int(
            wait_ms if wait_ms is not None else self._container.config.lsp.ready_timeout_ms()
        )
        client.wait_ready(wait)
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

    # ---- skeletons (issue 4) -------------------------------------------------------------

    def skeleton(self, path: str) -> SkeletonResult:
        """The skeleton of one segment file (segment-relative path), cached by content.
        Raises ``InputError`` subclasses for unreadable files, ``ParseFailed`` if no parser
        can read it."""

        from trifecta.application.skeletons import ExtractSkeleton

        extract: ExtractSkeleton = self._container.extract_skeleton()
        return extract.execute(path)

    def skeletons(self, paths: Sequence[str]) -> SkeletonBatch:
        """Skeletons of files and directories (absolute, or relative to the current
        directory or the segment); failures are reported per path, never raised."""

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

    # ---- telemetry -------------------------------------------------------------------------

    def telemetry_summary(self) -> dict[str, Any]:
        """Every stored event of this segment summarised (all runs), with the cumulative
        counters and the telemetry health figures (``trifecta telemetry summary``)."""

        summary: dict[str, Any] = self._container.telemetry_summary().run()
        return summary

    def close(self) -> None:
        """Flush telemetry and stop any language server this segment started."""

        self.telemetry.flush()
        self._container.shutdown_resources()

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
