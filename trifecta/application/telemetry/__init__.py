"""Telemetry: the seed's API (``service``), whole-event redaction (``redaction``) and the
summaries shared by flush and ``telemetry summary`` (``summary``)."""
