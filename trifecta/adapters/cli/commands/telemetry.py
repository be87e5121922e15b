"""``trifecta telemetry summary|export``: what every command recorded, over all runs;
its replay to an OTLP collector."""

from __future__ import annotations

import argparse
from typing import Any

from trifecta.adapters.cli.output import emit, segment_for


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render(summary: dict[str, Any]) -> str:
    lines = [
        f"telemetry: {summary['events']} events from {summary['runs']} run(s)"
        + (f" ({summary['first_ts']} .. {summary['last_ts']})" if summary["events"] else "")
    ]
    if summary["latencies"]:
        lines.append("")
        lines.append(
            f"{'command':<24} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
            f"{'tokens':>9} {'tok p50':>8} {'tok max':>8}"
        )
        for cmd, lat in summary["latencies"].items():
            tok = summary["tokens"].get(cmd, {})
            lines.append(
                f"{cmd:<24} {lat['count']:>7} {_fmt(lat['p50_ms']):>8} {_fmt(lat['p95_ms']):>8} "
                f"{_fmt(lat['max_ms']):>8} {_fmt(tok.get('total')):>9} "
                f"{_fmt(tok.get('p50')):>8} {_fmt(tok.get('max')):>8}"
            )
    for block in ("ast", "lsp", "file_read"):
        values = ", ".join(f"{k}={_fmt(v)}" for k, v in summary[block].items())
        lines.append(f"{block}: {values}")
    if summary["counters"]:
        lines.append("counters: " + ", ".join(f"{k}={v}" for k, v in summary["counters"].items()))
    health = {k: v for k, v in summary["health"].items() if k != "last_run"}
    lines.append("health: " + ", ".join(f"{k}={_fmt(v)}" for k, v in health.items()))
    last = summary["health"].get("last_run")
    if isinstance(last, dict):
        lines.append("last run: " + ", ".join(f"{k}={_fmt(v)}" for k, v in last.items()))
    return "\n".join(lines)


def run_summary(ns: argparse.Namespace) -> int:

    segment = segment_for(ns)
    try:
        summary = segment.telemetry_summary()
    finally:
        segment.close()
    emit(ns, summary, render(summary))
    return 0


def run_export(ns: argparse.Namespace) -> int:
    """Replay ``events.jsonl`` to a collector; exit 1 if the collector did not take it all."""

    with segment_for(ns) as segment:
        report = segment.telemetry_export(ns.otlp, since=ns.since, timeout_ms=ns.timeout_ms)
    text = (
        f"exported {report['spans_exported']}/{report['spans']} span(s) of "
        f"{report['events']} event(s) from {report['runs']} run(s) to {report['endpoint']}"
    )
    if not report["ok"]:
        text += f" (failed: {report['error'] or 'the collector refused'})"
    emit(ns, report, text)
    return 0 if report["ok"] else 1
