"""Telemetry arithmetic: percentiles and the summary blocks of ``last_run.json`` (seed C.3),
plus the ``SummarizeTelemetry`` use case behind ``trifecta telemetry summary``.

Denominators (the seed's formulas are corrected; see docs/telemetry.md):
- ``ast_cache_hit_rate = hits / (hits + misses)``, misses being ``ast_cache_miss_count`` when
  recorded, else ``ast_parse_count`` (every miss parses); null when nothing was looked up.
- ``lsp_timeout_rate = timeouts / LSP requests``, requests being ``lsp_request_count`` when
  recorded, else the number of LSP request events (``lsp.*`` minus lifecycle events);
  null when no request was made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trifecta.domain.ports import TelemetrySink

LSP_LIFECYCLE = frozenset(
    {"lsp.spawn", "lsp.initialize", "lsp.ready", "lsp.diagnostics", "lsp.shutdown", "lsp.exit"}
)
READ_MODES = ("skeleton", "excerpt", "raw")


def nearest_rank(ordered: Sequence[float], q: float) -> float:
    """The seed's percentile: ``sorted[min(n-1, floor(q*n))]`` (``ordered`` is sorted)."""

    n = len(ordered)
    return ordered[min(n - 1, int(q * n))]


def latency_block(samples: Iterable[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "count": len(ordered),
        "p50_ms": float(nearest_rank(ordered, 0.50)),
        "p95_ms": float(nearest_rank(ordered, 0.95)),
        "max_ms": float(ordered[-1]),
    }


def tokens_block(samples: Iterable[int]) -> dict[str, Any]:
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0, "total": 0, "p50": None, "max": None}
    return {
        "count": len(ordered),
        "total": sum(ordered),
        "p50": nearest_rank(ordered, 0.50),
        "max": ordered[-1],
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def ast_block(counters: Mapping[str, int]) -> dict[str, Any]:
    parses = counters.get("ast_parse_count", 0)
    hits = counters.get("ast_cache_hit_count", 0)
    misses = counters.get("ast_cache_miss_count", parses)
    return {
        "ast_parse_count": parses,
        "ast_cache_hit_count": hits,
        "ast_cache_miss_count": misses,
        "ast_cache_hit_rate": _rate(hits, hits + misses),
    }


def lsp_block(counters: Mapping[str, int], request_events: int = 0) -> dict[str, Any]:
    timeouts = counters.get("lsp_timeout_count", 0)
    requests = counters.get("lsp_request_count", 0) or request_events
    return {
        "lsp_spawn_count": counters.get("lsp_spawn_count", 0),
        "lsp_ready_count": counters.get("lsp_ready_count", 0),
        "lsp_request_count": requests,
        "lsp_timeout_count": timeouts,
        "lsp_timeout_rate": _rate(timeouts, requests),
        "lsp_fallback_count": counters.get("lsp_fallback_count", 0),
    }


def file_read_block(counters: Mapping[str, int]) -> dict[str, int]:
    block = {f"{m}_bytes": counters.get(f"file_read_{m}_bytes_total", 0) for m in READ_MODES}
    block["total_bytes"] = sum(block.values())
    return block


def top_warnings(warnings: Iterable[str], limit: int = 5) -> list[str]:
    """The most frequent warnings, first-seen order among equals, at most ``limit``."""

    return [w for w, _ in Counter(warnings).most_common(limit)]


def is_lsp_request(cmd: str) -> bool:
    return cmd.startswith("lsp.") and cmd not in LSP_LIFECYCLE


class SummarizeTelemetry:
    """Summarise every event stored for a segment (all runs, rotated files and spool
    included) with the cumulative counters and the health of the last run."""

    def __init__(self, sink: TelemetrySink) -> None:
        self._sink = sink

    def run(self) -> dict[str, Any]:
        timings: dict[str, list[int]] = {}
        tokens: dict[str, list[int]] = {}
        runs: set[str] = set()
        first_ts: str | None = None
        last_ts: str | None = None
        events = 0
        lsp_requests = 0
        for record in self._sink.read_events():
            cmd = record.get("cmd")
            if not isinstance(cmd, str):
                continue
            events += 1
            timing = record.get("timing_ms")
            timings.setdefault(cmd, []).append(timing if isinstance(timing, int) else 0)
            tok = record.get("tokens")
            tokens.setdefault(cmd, []).append(tok if isinstance(tok, int) else 0)
            run_id = record.get("run_id")
            if isinstance(run_id, str):
                runs.add(run_id)
            ts = record.get("ts")
            if isinstance(ts, str):
                first_ts = ts if first_ts is None or ts < first_ts else first_ts
                last_ts = ts if last_ts is None or ts > last_ts else last_ts
            if is_lsp_request(cmd):
                lsp_requests += 1
        counters = self._sink.read_counters()
        last_run = self._sink.read_last_run() or {}
        health: dict[str, Any] = {
            "events_on_disk": events,
            "runs": len(runs),
            "events_written_total": counters.get("telemetry_events_written", 0),
            "events_spooled_total": counters.get("telemetry_events_spooled", 0),
            "spool_drained_total": counters.get("telemetry_spool_drained", 0),
        }
        health["lines_skipped"] = self._sink.health().get("read_skipped_lines", 0)
        health["last_run"] = last_run.get("telemetry")
        return {
            "events": events,
            "runs": len(runs),
            "first_ts": first_ts,
            "last_ts": last_ts,
            "latencies": {c: latency_block(v) for c, v in sorted(timings.items())},
            "tokens": {c: tokens_block(v) for c, v in sorted(tokens.items())},
            "counters": dict(sorted(counters.items())),
            "ast": ast_block(counters),
            "lsp": lsp_block(counters, lsp_requests),
            "file_read": file_read_block(counters),
            "health": health,
        }
