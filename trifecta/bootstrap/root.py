"""``Root``: the core container plus the capability containers, each built (and its module
imported) the first time the capability is used."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trifecta.adapters.config.loader import load_settings
from trifecta.application.settings import env_layer, merge_settings
from trifecta.application.telemetry.service import TelemetryService
from trifecta.bootstrap._di import providers
from trifecta.bootstrap.core import Core

if TYPE_CHECKING:
    from trifecta.bootstrap.packs import Packs
    from trifecta.bootstrap.skeletons import Skeletons
    from trifecta.bootstrap.symbols import Symbols


def settings_for(
    segment: Path,
    flags: Mapping[str, Any] | None,
    allow_missing: bool = False,
    config: str | Path | None = None,
) -> dict[str, Any]:
    """Merged settings (defaults < files < ``TRIFECTA_*`` < flags). ``allow_missing``: a
    segment directory that does not exist yet has no config file (the telemetry API).
    ``config``: a settings file read after the segment's own (``--config FILE``)."""

    if allow_missing and not segment.is_dir():
        env = env_layer(os.environ)
        env.pop("segment", None)
        settings = merge_settings(env, dict(flags or {}))
        settings["segment"] = str(segment.resolve())
        return settings
    return load_settings(segment, flags, config=config)


class Root:
    """One per process or ``Segment``: one core (so one telemetry service, one run id)."""

    def __init__(
        self,
        segment: str | Path,
        flags: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        allow_missing: bool = False,
        config: str | Path | None = None,
    ) -> None:
        self.settings = settings_for(Path(segment), flags, allow_missing, config)
        self.core = Core(given=providers.Object(str(segment)), run_id=providers.Object(run_id))
        self.core.config.from_dict(self.settings)
        self._packs: Packs | None = None
        self._skeletons: Skeletons | None = None
        self._symbols: Symbols | None = None

    @property
    def root(self) -> Path:
        return Path(self.settings["segment"])

    @property
    def telemetry(self) -> TelemetryService:
        telemetry: TelemetryService = self.core.telemetry()
        return telemetry

    @property
    def packs(self) -> Packs:
        if self._packs is None:
            from trifecta.bootstrap.packs import Packs

            self._packs = Packs(core=self.core, config=self.core.config)
            # the index knows the pack's sha: no re-hash at flush
            self.core.pack_state.override(self._packs.pack_state)
        return self._packs

    @property
    def skeletons(self) -> Skeletons:
        if self._skeletons is None:
            from trifecta.bootstrap.skeletons import Skeletons

            self._skeletons = Skeletons(core=self.core, config=self.core.config)
        return self._skeletons

    @property
    def symbols(self) -> Symbols:
        if self._symbols is None:
            from trifecta.bootstrap.symbols import Symbols

            self._symbols = Symbols(
                core=self.core, skeletons=self.skeletons, config=self.core.config
            )
        return self._symbols

    def telemetry_export(self, endpoint: str, since: str | None, timeout_ms: int) -> dict[str, Any]:
        from trifecta.bootstrap.otel import replay

        events = self.core.jsonl_sink().read_events()
        return replay(events, endpoint, since, timeout_ms)

    def close(self) -> None:
        """Flush telemetry (``last_run.json``), then stop any pyright this root started."""

        try:
            self.telemetry.flush()
        finally:
            if self._symbols is not None:
                self._symbols.shutdown_resources()
            self._close_adapters()

    def _close_adapters(self) -> None:
        """Release the SQLite connections and the warm-server socket the capability
        adapters keep open (a process opening and closing many segments holds none)."""

        if self._packs is not None:
            self._packs.search_index().close()
            watched = self._packs.watched()
            if watched is not None:
                watched.close()
        if self._skeletons is not None:
            self._skeletons.cache().close()
        if self._symbols is not None:
            self._symbols.name_store().close()
            # A warm-server client exists only if its module was imported (a --no-lsp
            # resolve never imports it, and must not start to here).
            if "trifecta.adapters.lsp_daemon.client" in sys.modules:
                self._symbols.lsp_client().shutdown()
