"""The core container: what every capability shares, one of each per process/``Segment``.

Settings (a strict ``Configuration``), the clock, the confined file reader, the repository
state and ONE telemetry service (one ``run_id`` for everything the process does). Building
it imports only the cheap adapters; the capabilities live in their own containers
(``packs``, ``skeletons``, ``symbols``), imported when first used (``trifecta.bootstrap.root``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.git.reader import GitRepoStateReader
from trifecta.adapters.jsonl_telemetry.pack_state import pack_state_reader
from trifecta.adapters.jsonl_telemetry.sink import JsonlTelemetrySink
from trifecta.adapters.system.clock import SystemClock
from trifecta.adapters.system.identity import home_and_user
from trifecta.adapters.system.labels import segment_label
from trifecta.application.telemetry.service import TelemetryService
from trifecta.bootstrap._di import containers, deferred, providers
from trifecta.domain.ports import TelemetrySink


def redaction_roots(root: Path, given: str) -> tuple[str, ...]:
    """The segment as resolved and as the caller spelled it (a symlink differs)."""

    spelled = os.path.abspath(given)
    return (str(root),) if spelled == str(root) else (str(root), spelled)


def otlp_endpoints(
    environ: Mapping[str, str], setting: str
) -> tuple[str | None, str | None] | None:
    """(traces URL, metrics URL) when OTLP export is on, else None (and nothing of
    OpenTelemetry is imported). On: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the
    ``[telemetry] otlp`` setting) + ``/v1/traces`` and ``/v1/metrics``, or the per-signal
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``_METRICS_ENDPOINT`` (used as they are);
    ``OTEL_SDK_DISABLED=true`` switches it off whatever else is set."""

    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    base = (environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or setting or "").strip().rstrip("/")
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip() or (
        f"{base}/v1/traces" if base else None
    )
    metrics = environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "").strip() or (
        f"{base}/v1/metrics" if base else None
    )
    if traces is None and metrics is None:
        return None
    return traces, metrics


def fan_out_sink(jsonl: JsonlTelemetrySink, otlp: str, timeout_ms: int) -> TelemetrySink:
    """The JSONL sink, or (export on) the fan-out to JSONL and OTLP."""

    endpoints = otlp_endpoints(os.environ, otlp)
    if endpoints is None:
        return jsonl
    started = time.monotonic()  # the import counts against the flush budget
    from trifecta.bootstrap.otel import fan_out  # the standard library only

    return fan_out(jsonl, endpoints, timeout_ms, started)


def telemetry_dir(root: Path) -> Path:
    return root / "_ctx" / "telemetry"


def bytes_read_of(reader: LocalFileReader) -> Callable[[], dict[str, int]]:
    """Bytes read per mode, for ``last_run.json`` (called at flush)."""

    return lambda: {str(mode): n for mode, n in reader.bytes_read().items()}


class Core(containers.DeclarativeContainer):
    """``config``: the merged settings (``segment`` absolute). Override ``pack_state`` to
    give the telemetry a cheaper reader of the pack's state (the packs container does)."""

    config = providers.Configuration(strict=True)
    given = providers.Object(".")  # the segment path as the caller wrote it
    run_id: providers.Provider[str | None] = providers.Object(None)

    root = providers.Callable(Path, config.segment)
    label = providers.Callable(segment_label, root)
    clock = providers.Singleton(SystemClock)
    file_reader = providers.Singleton(LocalFileReader, root=root, max_bytes=config.files.max_bytes)
    repo_state = providers.Singleton(GitRepoStateReader, root=root)
    identity = providers.Singleton(home_and_user)

    # The sink does no I/O until the first write, so level "off" creates no directory.
    jsonl_sink = providers.Singleton(
        JsonlTelemetrySink,
        directory=providers.Callable(telemetry_dir, root),
        rotate_bytes=config.telemetry.rotate_bytes,
        lock_timeout_ms=config.telemetry.lock_timeout_ms,
    )
    # JSONL alone, or JSONL and OTLP when export is switched on (docs/telemetry.md)
    telemetry_sink = providers.Singleton(
        fan_out_sink,
        jsonl=jsonl_sink,
        otlp=config.telemetry.otlp,
        timeout_ms=config.telemetry.otlp_timeout_ms,
    )
    pack_state: providers.Provider[Callable[[], Any]] = providers.Callable(pack_state_reader, root)
    telemetry = providers.Singleton(
        TelemetryService,
        sink=telemetry_sink,
        clock=clock,
        segment_label=label,
        run_id=run_id,
        level=config.telemetry.level,
        segment_root=providers.Callable(redaction_roots, root, given),
        home=identity.provided[0],
        user=identity.provided[1],
        repo=repo_state,
        pack_state=pack_state,
        bytes_read=providers.Callable(bytes_read_of, file_reader),
    )
    telemetry_summary = providers.Factory(
        deferred("trifecta.application.telemetry.summary:SummarizeTelemetry"),
        sink=telemetry_sink,
    )
