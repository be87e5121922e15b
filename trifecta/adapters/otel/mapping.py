"""Telemetry events -> OTLP spans and metrics: the mapping of docs/telemetry.md.

Pure functions on the records the JSONL sink stores (already redacted by the telemetry
service), so a live export and a replay of ``events.jsonl`` build the same spans:

- one trace per run: ``trace_id`` = the first 16 bytes of ``sha256("trace:" + run_id)``;
- one CLI span per run (the root): ``span_id`` from ``sha256("run:" + run_id)``, named
  ``trifecta <command>`` after the run's command event, with ``process.executable.name``,
  ``process.pid`` (from the run id), ``process.exit.code`` and ``error.type`` on failure;
- every event is a child span named after its ``cmd`` (``ctx.search``, ``lsp.definition``,
  ``ast.parse``, ``file.read``, ``mcp.<tool>``...): ``span_id`` from the event id, the
  sha256 of the record's canonical JSON, so the same record always gives the same span.

Nothing here imports OpenTelemetry: the values are plain dicts that ``export`` encodes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

SCOPE = "trifecta"
# The event fields that become first-class attributes; the rest go under trifecta.*.
_CORE = ("ts", "run_id", "segment", "cmd", "args", "result", "timing_ms", "warnings", "tokens")
_RUN_PID = re.compile(r"^run_\d+_(\d+)_")
_ATTR_MAX = 64  # attributes per span, beyond which the rest are dropped (counted)


def canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8", "surrogatepass")


def event_id(record: Mapping[str, Any]) -> str:
    """The id of a stored event: sha256 of its canonical JSON (hex)."""

    return hashlib.sha256(canonical(record)).hexdigest()


def trace_id_of(run_id: str) -> int:
    return int.from_bytes(hashlib.sha256(b"trace:" + run_id.encode()).digest()[:16], "big") or 1


def run_span_id(run_id: str) -> int:
    return int.from_bytes(hashlib.sha256(b"run:" + run_id.encode()).digest()[:8], "big") or 1


def event_span_id(record: Mapping[str, Any]) -> int:
    return int.from_bytes(bytes.fromhex(event_id(record))[:8], "big") or 1


def ts_ns(ts: Any) -> int | None:
    """An event's ``ts`` (ISO 8601, UTC) in nanoseconds since the epoch; None if unreadable."""

    if not isinstance(ts, str):
        return None
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.timestamp() * 1_000_000) * 1000


def since_ns(since: str) -> int | None:
    """A ``--since`` time (ISO 8601 date or date-time; UTC when it names no zone) in ns."""

    text = since.strip()
    text = text if "T" in text or " " in text else text + "T00:00:00"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def _scalar(value: Any) -> str | bool | int | float | None:
    if isinstance(value, bool | int | float | str):
        return value
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)[:500]


def _homogeneous(value: list[Any]) -> bool:
    """An OTLP array attribute holds one type: all strings, or all (non-bool) ints."""

    if all(isinstance(v, str) for v in value):
        return True
    return all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def _flatten(prefix: str, data: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, list) and _homogeneous(value):
            out[f"{prefix}.{key}"] = list(value[:32])
        else:
            scalar = _scalar(value)
            if scalar is not None:
                out[f"{prefix}.{key}"] = scalar


def _code_attributes(args: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in (result, args):
        for key in ("file", "path"):
            value = source.get(key)
            if isinstance(value, str) and "code.file.path" not in out:
                out["code.file.path"] = value
        line = source.get("line")
        if isinstance(line, int) and not isinstance(line, bool):
            out.setdefault("code.line.number", line)
        for key in ("symbol", "name"):
            value = source.get(key)
            if isinstance(value, str) and "code.function.name" not in out:
                out["code.function.name"] = value
    return out


def is_error(record: Mapping[str, Any]) -> bool:
    result = record.get("result")
    return isinstance(result, Mapping) and result.get("status") == "error"


def error_type(record: Mapping[str, Any]) -> str:
    result = record.get("result")
    value = result.get("error") if isinstance(result, Mapping) else None
    return value if isinstance(value, str) and value else "_OTHER"


def event_span(record: Mapping[str, Any], parent: int) -> dict[str, Any] | None:
    """The child span of one event; None for a record without run id, cmd or time."""

    run_id, cmd, end = record.get("run_id"), record.get("cmd"), ts_ns(record.get("ts"))
    if not isinstance(run_id, str) or not isinstance(cmd, str) or end is None:
        return None
    timing = record.get("timing_ms")
    timing_ms = timing if isinstance(timing, int | float) and timing >= 0 else 0
    args = record.get("args") if isinstance(record.get("args"), Mapping) else {}
    result = record.get("result") if isinstance(record.get("result"), Mapping) else {}
    assert isinstance(args, Mapping) and isinstance(result, Mapping)
    attributes: dict[str, Any] = {"trifecta.cmd": cmd, "trifecta.event.id": event_id(record)}
    attributes.update(_code_attributes(args, result))
    sha = record.get("repo_sha")
    if isinstance(sha, str) and sha:
        attributes["vcs.ref.head.revision"] = sha
    if isinstance(record.get("dirty"), bool):
        attributes["trifecta.repo.dirty"] = record["dirty"]
    tokens = record.get("tokens")
    if isinstance(tokens, int):
        attributes["trifecta.tokens"] = tokens
    attributes["trifecta.timing_ms"] = timing_ms
    if isinstance(record.get("segment"), str):
        attributes["trifecta.segment"] = record["segment"]
    _flatten("trifecta.args", args, attributes)
    _flatten("trifecta.result", result, attributes)
    extra = {k: v for k, v in record.items() if k not in _CORE and k not in ("repo_sha", "dirty")}
    _flatten("trifecta", extra, attributes)
    if is_error(record):
        attributes["error.type"] = error_type(record)
    if len(attributes) > _ATTR_MAX:
        attributes = dict(list(attributes.items())[:_ATTR_MAX])
    warnings = record.get("warnings")
    events = [
        {"name": "trifecta.warning", "time": end, "attributes": {"message": str(w)}}
        for w in (warnings if isinstance(warnings, list) else [])[:16]
    ]
    return {
        "name": cmd,
        "trace_id": trace_id_of(run_id),
        "span_id": event_span_id(record),
        "parent_id": parent,
        "start": end - int(timing_ms * 1_000_000),
        "end": end,
        "attributes": attributes,
        "events": events,
        "error": is_error(record),
    }


def _command_event(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The run's command event: the longest event that reports a status (the command's
    own event encloses the parses, reads and LSP requests it caused); else the longest."""

    def timing(r: Mapping[str, Any]) -> float:
        t = r.get("timing_ms")
        return float(t) if isinstance(t, int | float) else 0.0

    with_status = [
        r for r in records if isinstance(r.get("result"), Mapping) and "status" in r["result"]
    ]
    return max(with_status or records, key=timing)


def run_spans(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The CLI span of one run and a child span per event (records of one run_id)."""

    if not records:
        return []
    run_id = records[0].get("run_id")
    if not isinstance(run_id, str):
        return []
    root = run_span_id(run_id)
    children = [s for s in (event_span(r, root) for r in records) if s is not None]
    if not children:
        return []
    command = _command_event(records)
    cmd = str(command.get("cmd", "run"))
    failed = is_error(command)
    match = _RUN_PID.match(run_id)
    attributes: dict[str, Any] = {
        "process.executable.name": "trifecta",
        "process.exit.code": 1 if failed else 0,
        "trifecta.run_id": run_id,
        "trifecta.cmd": cmd,
        "trifecta.events": len(children),
        "trifecta.tokens": sum(r["tokens"] for r in records if isinstance(r.get("tokens"), int)),
    }
    if match:
        attributes["process.pid"] = int(match.group(1))
    sha = command.get("repo_sha")
    if isinstance(sha, str) and sha:
        attributes["vcs.ref.head.revision"] = sha
    if isinstance(command.get("segment"), str):
        attributes["trifecta.segment"] = command["segment"]
    if failed:
        attributes["error.type"] = error_type(command)
    span = {
        "name": "trifecta " + cmd.replace(".", " ", 1),
        "trace_id": trace_id_of(run_id),
        "span_id": root,
        "parent_id": None,
        "start": min(c["start"] for c in children),
        "end": max(c["end"] for c in children),
        "attributes": attributes,
        "events": [],
        "error": failed,
    }
    return [span, *children]


def spans_of(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Spans of many records, grouped by run (in order of each run's first record)."""

    runs: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        run_id = record.get("run_id")
        if isinstance(run_id, str):
            runs.setdefault(run_id, []).append(record)
    spans: list[dict[str, Any]] = []
    for group in runs.values():
        spans.extend(run_spans(group))
    return spans


def resource_attributes(
    environ: Mapping[str, str], version: str, segment: str | None = None
) -> dict[str, Any]:
    """``service.name`` (``OTEL_SERVICE_NAME``, default ``trifecta``), ``service.version``
    and ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v,k2=v2``; the service name variable wins)."""

    attributes: dict[str, Any] = {"service.name": "trifecta", "service.version": version}
    for pair in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            from urllib.parse import unquote

            attributes[key.strip()] = unquote(value.strip())
    name = environ.get("OTEL_SERVICE_NAME", "").strip()
    if name:
        attributes["service.name"] = name
    if segment:
        attributes.setdefault("trifecta.segment", segment)
    return attributes
