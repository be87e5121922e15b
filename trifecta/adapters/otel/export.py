"""``OtlpExporter``: spans and metrics as OTLP/HTTP protobuf, posted with a hard deadline.

The OpenTelemetry SDK builds the data (``ReadableSpan``, a ``MeterProvider`` read by an
in-memory reader) and the OTLP exporter package's encoders turn it into the protobuf
requests; the POST is ours (one attempt, ``timeout_s`` for the whole flush, no retry),
so a collector that does not answer costs at most the timeout, once: after a failure the
exporter is ``dead`` and every later export is skipped (counted, never raised).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from trifecta.adapters.otel.mapping import SCOPE

_HEADERS = {"Content-Type": "application/x-protobuf"}


def parse_headers(raw: str) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS``: ``k=v,k2=v2`` (values URL-encoded)."""

    from urllib.parse import unquote

    out: dict[str, str] = {}
    for pair in raw.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            out[key.strip()] = unquote(value.strip())
    return out


class OtlpExporter:
    """Posts spans to ``traces_url`` and metrics to ``metrics_url`` (either may be None)."""

    def __init__(
        self,
        traces_url: str | None,
        metrics_url: str | None,
        resource: Mapping[str, Any],
        version: str,
        timeout_s: float = 0.2,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.traces_url = traces_url
        self.metrics_url = metrics_url
        self.timeout_s = max(0.001, float(timeout_s))
        self.headers = {**_HEADERS, **(headers or {})}
        self.resource = Resource.create(dict(resource))
        self.scope = InstrumentationScope(SCOPE, version)
        self.dead = False
        self.spans_exported = 0
        self.metric_exports = 0
        self.failures = 0
        self.skipped = 0
        self.last_error = ""
        self._reader = InMemoryMetricReader()
        self._meters = MeterProvider(
            resource=self.resource, metric_readers=[self._reader], shutdown_on_exit=False
        )
        self._meter = self._meters.get_meter(SCOPE, version)
        self._counters: dict[str, Any] = {}
        self._duration = self._meter.create_histogram(
            "trifecta.event.duration", unit="ms", description="timing_ms of each event, by cmd"
        )
        self._tokens = self._meter.create_histogram(
            "trifecta.event.tokens", unit="{token}", description="tokens served, by cmd"
        )
        self.metrics_recorded = False

    # ---- metrics -----------------------------------------------------------------------

    def add_counter(self, name: str, delta: int) -> None:
        counter = self._counters.get(name)
        if counter is None:
            counter = self._meter.create_counter(f"trifecta.{name}")
            self._counters[name] = counter
        if delta > 0:  # an OTel counter is monotonic
            counter.add(delta)
            self.metrics_recorded = True

    def record_event(self, cmd: str, timing_ms: float, tokens: int) -> None:
        attributes = {"trifecta.cmd": cmd}
        self._duration.record(timing_ms, attributes)
        self._tokens.record(tokens, attributes)
        self.metrics_recorded = True

    # ---- encoding ----------------------------------------------------------------------

    def _span(self, data: Mapping[str, Any]) -> ReadableSpan:
        context = SpanContext(
            data["trace_id"], data["span_id"], False, TraceFlags(TraceFlags.SAMPLED)
        )
        parent_id = data.get("parent_id")
        parent = (
            SpanContext(data["trace_id"], parent_id, False, TraceFlags(TraceFlags.SAMPLED))
            if parent_id
            else None
        )
        events = [Event(e["name"], e["attributes"], e["time"]) for e in data["events"]]
        status = Status(StatusCode.ERROR) if data["error"] else Status(StatusCode.UNSET)
        return ReadableSpan(
            name=data["name"],
            context=context,
            parent=parent,
            resource=self.resource,
            attributes=data["attributes"],
            events=events,
            kind=SpanKind.INTERNAL,
            status=status,
            start_time=data["start"],
            end_time=data["end"],
            instrumentation_scope=self.scope,
        )

    def encode_spans(self, spans: Sequence[Mapping[str, Any]]) -> bytes:
        request = encode_spans([self._span(s) for s in spans])
        body: bytes = request.SerializeToString()
        return body

    def encode_metrics(self) -> bytes | None:
        data = self._reader.get_metrics_data()
        if data is None or not data.resource_metrics:
            return None
        body: bytes = encode_metrics(data).SerializeToString()
        return body

    # ---- sending -----------------------------------------------------------------------

    def _post(self, url: str, body: bytes, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if self.dead or left <= 0:
            self.skipped += 1
            return False
        request = urllib.request.Request(url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=left) as response:
                response.read()
                status: int = response.status
                ok = 200 <= status < 300
        except (OSError, ValueError, urllib.error.URLError) as error:
            ok = False
            self.last_error = type(error).__name__
        if not ok:
            self.failures += 1
            self.dead = True  # skipped for the rest of the process
        return ok

    def export(
        self,
        spans: Sequence[Mapping[str, Any]],
        metrics: bool = True,
        timeout_s: float | None = None,
        batch: int = 512,
    ) -> bool:
        """Post ``spans`` (in batches) and, if ``metrics``, the metrics recorded so far,
        all within ``timeout_s`` (default: the exporter's); True if everything was sent."""

        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        ok = True
        if spans and self.traces_url:
            for i in range(0, len(spans), batch):
                part = spans[i : i + batch]
                if not self._post(self.traces_url, self.encode_spans(part), deadline):
                    return False
                self.spans_exported += len(part)
        if metrics and self.metrics_url and self.metrics_recorded:
            body = self.encode_metrics()
            if body is not None:
                ok = self._post(self.metrics_url, body, deadline)
                self.metric_exports += int(ok)
        return ok

    def health(self) -> dict[str, int | float]:
        return {
            "otlp_spans_exported": self.spans_exported,
            "otlp_metric_exports": self.metric_exports,
            "otlp_export_failures": self.failures,
            "otlp_exports_skipped": self.skipped,
        }
