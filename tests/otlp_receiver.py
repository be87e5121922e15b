"""An OTLP/HTTP receiver for tests and benchmarks: ``http.server`` on 127.0.0.1 in a
thread, decoding what it gets with the official ``opentelemetry-proto`` messages."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


class Receiver:
    """``url``: the base URL to give as ``OTEL_EXPORTER_OTLP_ENDPOINT``; ``requests``: the
    (path, body) pairs received, in order."""

    def __init__(self) -> None:
        received: list[tuple[str, bytes]] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with lock:
                    received.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.requests = received
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def traces(self) -> list[ExportTraceServiceRequest]:
        out = []
        for path, body in list(self.requests):
            if path == "/v1/traces":
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                out.append(message)
        return out

    def metrics(self) -> list[ExportMetricsServiceRequest]:
        out = []
        for path, body in list(self.requests):
            if path == "/v1/metrics":
                message = ExportMetricsServiceRequest()
                message.ParseFromString(body)
                out.append(message)
        return out

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.traces()
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind is None:
        return None
    return getattr(any_value, kind)


def attributes(item: Any) -> dict[str, Any]:
    return {kv.key: value(kv.value) for kv in item.attributes}


def strings(request: Any) -> Iterator[str]:
    """Every string the decoded request holds (keys, values, names), to check for leaks."""

    from google.protobuf.message import Message

    if isinstance(request, Message):
        for _field, val in request.ListFields():
            yield from strings(val)
    elif isinstance(request, str):
        yield request
    elif isinstance(request, bytes | int | float | bool):
        return
    else:  # a repeated field
        for item in request:
            yield from strings(item)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
