"""TelemetrySink on JSONL files under ``<segment>/_ctx/telemetry/``."""

from trifecta.adapters.jsonl_telemetry.sink import JsonlTelemetrySink

__all__ = ["JsonlTelemetrySink"]
