"""OTLP/HTTP export of the telemetry (the ``trifecta[otel]`` extra), beside the JSONL sink.

Imported only when export is switched on (docs/telemetry.md, "OpenTelemetry export"):
``mapping`` turns stored events into spans (no OpenTelemetry import), ``export`` encodes
them with the OpenTelemetry SDK and posts them, ``sink`` is the fan-out ``TelemetrySink``.
"""
