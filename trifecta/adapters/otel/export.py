"""``OtlpExporter``: spans and metrics as OTLP/HTTP protobuf, posted with a hard deadline.

The live export imports nothing beyond the standard library (``wire`` encodes, ``post``
speaks HTTP/1.1 on a socket; ``https`` URLs use ``http.client``), so switching it on costs
a command the POSTs and nothing else. One attempt, ``timeout_s`` for the whole flush, no
retry: a collector that does not answer costs at most the timeout, once; after a failure
the exporter is ``dead`` and every later export is skipped (counted, never raised).
Counters are cumulative sums since the exporter was made; event timings and tokens are
explicit-bucket histograms per ``cmd``.
"""

from __future__ import annotations

import bisect
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from trifecta.adapters.otel import wire
from trifecta.adapters.otel.mapping import SCOPE

# The OpenTelemetry SDK's default explicit bucket boundaries.
BOUNDS: tuple[float, ...] = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500)
BOUNDS += (10000,)

SpanEncoder = Callable[[Sequence[Mapping[str, Any]], Mapping[str, Any], tuple[str, str]], bytes]


def parse_headers(raw: str) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS``: ``k=v,k2=v2`` (values URL-encoded)."""

    out: dict[str, str] = {}
    for pair in raw.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            out[key.strip()] = unquote(value.strip())
    return out


def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
    """POST ``body``; the HTTP status. Raises OSError (refused, timeout...) or ValueError."""

    parts = urlsplit(url)
    host = parts.hostname or ""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    all_headers = {"Content-Type": "application/x-protobuf", **headers}
    if parts.scheme == "https":
        import http.client

        conn = http.client.HTTPSConnection(host, parts.port or 443, timeout=timeout_s)
        try:
            conn.request("POST", path, body=body, headers=all_headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()
    if parts.scheme != "http" or not host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or 80
    deadline = time.monotonic() + timeout_s
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in all_headers.items()] + ["Connection: close", "", ""]
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        sock.sendall("\r\n".join(head).encode("latin-1") + body)
        received = b""
        while b"\r\n" not in received:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    status = received.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or not status[1].isdigit():
        raise ValueError("no HTTP status line")
    return int(status[1])


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
        encode_spans: SpanEncoder = wire.trace_request,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.traces_url = traces_url
        self.metrics_url = metrics_url
        self.timeout_s = max(0.001, float(timeout_s))
        self.headers = dict(headers or {})
        self.resource = dict(resource)
        self.scope = (SCOPE, version)
        self._encode_spans = encode_spans
        self._now = now_ns
        self._start = now_ns()
        self.dead = False
        self.spans_exported = 0
        self.metric_exports = 0
        self.failures = 0
        self.skipped = 0
        self.last_error = ""
        self.counters: dict[str, int] = {}
        self.histograms: dict[str, dict[str, dict[str, Any]]] = {
            "trifecta.event.duration": {},
            "trifecta.event.tokens": {},
        }
        self.metrics_recorded = False
        # set up time already spent (imports), taken from the next export's budget
        self.overhead_s = 0.0

    # ---- metrics -----------------------------------------------------------------------

    def add_counter(self, name: str, delta: int) -> None:
        if delta > 0:  # an OTel counter is monotonic
            key = f"trifecta.{name}"
            self.counters[key] = self.counters.get(key, 0) + delta
            self.metrics_recorded = True

    def _record(self, histogram: str, cmd: str, value: float) -> None:
        points = self.histograms[histogram]
        point = points.get(cmd)
        if point is None:
            point = {
                "attributes": {"trifecta.cmd": cmd},
                "count": 0,
                "sum": 0.0,
                "min": value,
                "max": value,
                "buckets": [0] * (len(BOUNDS) + 1),
            }
            points[cmd] = point
        point["count"] += 1
        point["sum"] += value
        point["min"] = min(point["min"], value)
        point["max"] = max(point["max"], value)
        point["buckets"][bisect.bisect_left(BOUNDS, value)] += 1

    def record_event(self, cmd: str, timing_ms: float, tokens: int) -> None:
        self._record("trifecta.event.duration", cmd, float(timing_ms))
        self._record("trifecta.event.tokens", cmd, float(tokens))
        self.metrics_recorded = True

    def encode_metrics(self) -> bytes:
        units = {"trifecta.event.duration": "ms", "trifecta.event.tokens": "{token}"}
        histograms = {
            name: (units[name], list(points.values()))
            for name, points in self.histograms.items()
            if points
        }
        return wire.metrics_request(
            self.counters, histograms, BOUNDS, self._start, self._now(), self.resource, self.scope
        )

    # ---- sending -----------------------------------------------------------------------

    def _post(self, url: str, body: bytes, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if self.dead or left <= 0:
            self.skipped += 1
            return False
        try:
            ok = 200 <= post(url, body, self.headers, left) < 300
            if not ok:
                self.last_error = "HTTP status"
        except (OSError, ValueError) as error:
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

        budget = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + budget - self.overhead_s
        self.overhead_s = 0.0
        if spans and self.traces_url:
            for i in range(0, len(spans), batch):
                part = spans[i : i + batch]
                body = self._encode_spans(part, self.resource, self.scope)
                if not self._post(self.traces_url, body, deadline):
                    return False
                self.spans_exported += len(part)
        if metrics and self.metrics_url and self.metrics_recorded:
            if not self._post(self.metrics_url, self.encode_metrics(), deadline):
                return False
            self.metric_exports += 1
        return True

    def health(self) -> dict[str, int | float]:
        return {
            "otlp_spans_exported": self.spans_exported,
            "otlp_metric_exports": self.metric_exports,
            "otlp_export_failures": self.failures,
            "otlp_exports_skipped": self.skipped,
        }
