"""OTLP protobuf messages written with the standard library (the live export's encoder).

Why not the OpenTelemetry SDK's encoder on the live path: importing the SDK, protobuf and
the generated messages costs more than the whole flush budget (200 ms) on a loaded
machine (bench/otel.py, docs/performance.md), and a command must not pay that. The wire
format of the few messages we send is small and stable (opentelemetry-proto v1:
``ExportTraceServiceRequest``, ``ExportMetricsServiceRequest``); the tests decode every
byte with the official ``opentelemetry-proto`` package and compare with the SDK's encoder.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

_LEN = 2
_VARINT = 0
_I64 = 1
_I32 = 5


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _tag(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _bytes(field: int, data: bytes) -> bytes:
    return _tag(field, _LEN) + _varint(len(data)) + data


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode("utf-8", "replace")) if text else b""


def _uint(field: int, value: int) -> bytes:
    return _tag(field, _VARINT) + _varint(value) if value else b""


def _fixed64(field: int, value: int) -> bytes:
    return _tag(field, _I64) + struct.pack("<Q", value & ((1 << 64) - 1))


def _double(field: int, value: float) -> bytes:
    return _tag(field, _I64) + struct.pack("<d", value)


def any_value(value: Any) -> bytes:
    """``AnyValue``: string 1, bool 2, int 3, double 4, array 5."""

    if isinstance(value, bool):
        return _tag(2, _VARINT) + _varint(int(value))
    if isinstance(value, int):
        return _tag(3, _VARINT) + _varint(value)
    if isinstance(value, float):
        return _double(4, value)
    if isinstance(value, list | tuple):
        return _bytes(5, b"".join(_bytes(1, any_value(v)) for v in value))
    return _bytes(1, str(value).encode("utf-8", "replace"))


def key_values(field: int, attributes: Mapping[str, Any]) -> bytes:
    return b"".join(
        _bytes(field, _str(1, key) + _bytes(2, any_value(value)))
        for key, value in attributes.items()
    )


def _resource(attributes: Mapping[str, Any]) -> bytes:
    return _bytes(1, key_values(1, attributes))


def _scope(name: str, version: str) -> bytes:
    return _bytes(1, _str(1, name) + _str(2, version))


SPAN_KIND_INTERNAL = 1
STATUS_ERROR = 2
FLAG_HAS_IS_REMOTE = 0x100  # SpanFlags: is-remote known (false); as the SDK encoder writes


def span(data: Mapping[str, Any]) -> bytes:
    """One ``Span`` from a mapping of ``trifecta.adapters.otel.mapping``."""

    out = [
        _bytes(1, data["trace_id"].to_bytes(16, "big")),
        _bytes(2, data["span_id"].to_bytes(8, "big")),
    ]
    if data.get("parent_id"):
        out.append(_bytes(4, data["parent_id"].to_bytes(8, "big")))
    out += [
        _str(5, data["name"]),
        _uint(6, SPAN_KIND_INTERNAL),
        _fixed64(7, data["start"]),
        _fixed64(8, data["end"]),
        key_values(9, data["attributes"]),
    ]
    for event in data["events"]:
        body = _fixed64(1, event["time"]) + _str(2, event["name"])
        out.append(_bytes(11, body + key_values(3, event["attributes"])))
    if data["error"]:
        out.append(_bytes(15, _uint(3, STATUS_ERROR)))
    else:
        out.append(_bytes(15, b""))
    out.append(_tag(16, _I32) + struct.pack("<I", FLAG_HAS_IS_REMOTE))
    return b"".join(out)


def trace_request(
    spans: Sequence[Mapping[str, Any]], resource: Mapping[str, Any], scope: tuple[str, str]
) -> bytes:
    """``ExportTraceServiceRequest`` with one resource and one scope."""

    scope_spans = _scope(*scope) + b"".join(_bytes(2, span(s)) for s in spans)
    resource_spans = _resource(resource) + _bytes(2, scope_spans)
    return _bytes(1, resource_spans)


CUMULATIVE = 2


def _number_point(value: int, start: int, now: int, attributes: Mapping[str, Any]) -> bytes:
    return (
        _fixed64(2, start)
        + _fixed64(3, now)
        + _tag(6, _I64)
        + struct.pack("<q", value)
        + key_values(7, attributes)
    )


def _histogram_point(
    point: Mapping[str, Any], bounds: Sequence[float], start: int, now: int
) -> bytes:
    counts = b"".join(struct.pack("<Q", c) for c in point["buckets"])
    doubles = b"".join(struct.pack("<d", b) for b in bounds)
    out = (
        _fixed64(2, start)
        + _fixed64(3, now)
        + _fixed64(4, point["count"])
        + _double(5, float(point["sum"]))
        + _bytes(6, counts)
        + _bytes(7, doubles)
        + key_values(9, point["attributes"])
    )
    if point["count"]:
        out += _double(11, float(point["min"])) + _double(12, float(point["max"]))
    return out


def metrics_request(
    counters: Mapping[str, int],
    histograms: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]],
    bounds: Sequence[float],
    start: int,
    now: int,
    resource: Mapping[str, Any],
    scope: tuple[str, str],
) -> bytes:
    """``ExportMetricsServiceRequest``: monotonic cumulative sums (``counters``: name ->
    total) and explicit-bucket histograms (name -> (unit, points)), one resource."""

    metrics = []
    for name, total in counters.items():
        point = _number_point(total, start, now, {})
        body = _bytes(1, point) + _uint(2, CUMULATIVE) + _tag(3, _VARINT) + b"\x01"
        metrics.append(_str(1, name) + _bytes(7, body))
    for name, (unit, points) in histograms.items():
        body = b"".join(_bytes(1, _histogram_point(p, bounds, start, now)) for p in points)
        body += _uint(2, CUMULATIVE)
        metrics.append(_str(1, name) + _str(3, unit) + _bytes(9, body))
    scope_metrics = _scope(*scope) + b"".join(_bytes(2, m) for m in metrics)
    return _bytes(1, _resource(resource) + _bytes(2, scope_metrics))
