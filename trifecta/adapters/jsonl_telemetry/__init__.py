"""TelemetrySink on JSONL files under ``<segment>/_ctx/telemetry/``."""
