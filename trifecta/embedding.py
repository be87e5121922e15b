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
    from trifecta.domain.model import Selector


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
