"""The same spans encoded by the OpenTelemetry SDK and the OTLP exporter package's encoder
(the ``trifecta[otel]`` extra): used by the replay (``trifecta telemetry export``), where
import time does not matter, and by the tests as the reference for ``wire``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags


def _span(data: Mapping[str, Any], resource: Resource, scope: InstrumentationScope) -> ReadableSpan:
    sampled = TraceFlags(TraceFlags.SAMPLED)
    context = SpanContext(data["trace_id"], data["span_id"], False, sampled)
    parent_id = data.get("parent_id")
    parent = SpanContext(data["trace_id"], parent_id, False, sampled) if parent_id else None
    events = [Event(e["name"], e["attributes"], e["time"]) for e in data["events"]]
    return ReadableSpan(
        name=data["name"],
        context=context,
        parent=parent,
        resource=resource,
        attributes=data["attributes"],
        events=events,
        kind=SpanKind.INTERNAL,
        status=Status(StatusCode.ERROR) if data["error"] else Status(StatusCode.UNSET),
        start_time=data["start"],
        end_time=data["end"],
        instrumentation_scope=scope,
    )


def trace_request(
    spans: Sequence[Mapping[str, Any]], resource: Mapping[str, Any], scope: tuple[str, str]
) -> bytes:
    """``ExportTraceServiceRequest`` bytes, as the SDK's OTLP exporter would send them."""

    res = Resource.create(dict(resource))
    inst = InstrumentationScope(*scope)
    body: bytes = encode_spans([_span(s, res, inst) for s in spans]).SerializeToString()
    return body
