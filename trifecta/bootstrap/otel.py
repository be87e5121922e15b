"""OTLP export wiring, imported only when export is switched on (``core.fan_out_sink``) or
replayed (``trifecta telemetry export``): the one place the ``otel`` adapters are built.
The live export needs only the standard library; the replay encodes with the
OpenTelemetry SDK (the ``trifecta[otel]`` extra)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from trifecta._version import __version__
from trifecta.adapters.otel.export import OtlpExporter, parse_headers
from trifecta.adapters.otel.mapping import resource_attributes, since_ns, spans_of, ts_ns
from trifecta.adapters.otel.sink import OtlpFanOutSink
from trifecta.domain.errors import TrifectaError, UsageError
from trifecta.domain.ports import TelemetrySink


def exporter(
    endpoints: tuple[str | None, str | None], timeout_ms: int, environ: Mapping[str, str]
) -> OtlpExporter:
    return OtlpExporter(
        traces_url=endpoints[0],
        metrics_url=endpoints[1],
        resource=resource_attributes(environ, __version__),
        version=__version__,
        timeout_s=timeout_ms / 1000,
        headers=parse_headers(environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")),
    )


def fan_out(
    jsonl: TelemetrySink,
    endpoints: tuple[str | None, str | None],
    timeout_ms: int,
    started: float | None = None,
) -> TelemetrySink:
    """``started``: ``time.monotonic()`` before the export's modules were imported; the
    time since is taken from the first flush's budget (the timeout bounds it all)."""

    try:
        export = exporter(endpoints, timeout_ms, os.environ)
        if started is not None:
            export.overhead_s = time.monotonic() - started
    except Exception as error:  # a broken install never breaks a command
        import sys

        sys.stderr.write(f"trifecta: warning: OTLP export off: {type(error).__name__}\n")
        return jsonl
    return OtlpFanOutSink(jsonl, export)


def replay(
    events: Iterable[Mapping[str, Any]],
    endpoint: str,
    since: str | None = None,
    timeout_ms: int = 10_000,
) -> dict[str, Any]:
    """Send stored events (those at or after ``since``, an ISO 8601 time) as spans to the
    collector at ``endpoint`` (its base URL). Span and trace ids derive from the events,
    so sending the same events twice gives the same spans (idempotent by event id)."""

    if not endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--otlp {endpoint!r}: expected an http:// or https:// URL")
    floor = since_ns(since) if since is not None else None
    if since is not None and floor is None:
        raise UsageError(f"--since {since!r}: expected an ISO 8601 time (UTC if no zone)")
    selected = [e for e in events if floor is None or (ts_ns(e.get("ts")) or 0) >= floor]
    try:
        from trifecta.adapters.otel.sdk import trace_request as sdk_trace_request
    except ImportError as error:
        raise TrifectaError(
            f"OTLP export needs the otel extra (pip install 'trifecta[otel]'): {error}"
        ) from None
    spans = spans_of(selected)
    base = endpoint.rstrip("/")
    export = OtlpExporter(
        traces_url=base + "/v1/traces",
        metrics_url=None,
        resource=resource_attributes(os.environ, __version__),
        version=__version__,
        timeout_s=timeout_ms / 1000,
        headers=parse_headers(os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")),
        encode_spans=sdk_trace_request,
    )
    ok = export.export(spans, metrics=False)
    return {
        "endpoint": base,
        "events": len(selected),
        "runs": len({e.get("run_id") for e in selected}),
        "spans": len(spans),
        "spans_exported": export.spans_exported,
        "ok": ok,
        "error": export.last_error or None,
    }
