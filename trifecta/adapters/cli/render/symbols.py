"""``ast resolve`` / ``ast definition`` answers as text and JSON (docs/cli.md)."""

from __future__ import annotations

from typing import Any

from trifecta.domain.model import Resolution


def resolution_json(resolution: Resolution) -> dict[str, Any]:
    return {
        "query": resolution.query,
        "resolved": resolution.resolved,
        "matches": [
            {
                "path": m.path,
                "line": m.line,
                "column": m.column,
                "end_line": m.end_line,
                "kind": m.kind,
                "qualname": m.qualname,
            }
            for m in resolution.matches
        ],
        "resolved_by": resolution.resolved_by,
        "fallback_reason": resolution.fallback_reason,
        "ambiguous": resolution.ambiguous,
        "timing_ms": resolution.timing_ms,
    }


def resolution_text(resolution: Resolution) -> str:
    lines = []
    for m in resolution.matches:
        what = " ".join(x for x in (m.kind, m.qualname or "") if x and x != "unknown")
        lines.append(f"{m.path}:{m.line}:{m.column}" + (f"  {what}" if what else ""))
    by = resolution.resolved_by
    why = f", {resolution.fallback_reason}" if resolution.fallback_reason else ""
    note = " ambiguous:" if resolution.ambiguous else ""
    lines.append(f"#{note} answered by {by}{why} in {resolution.timing_ms} ms")
    if not resolution.matches:
        lines.insert(0, f"not found: {resolution.query}")
    return "\n".join(lines)
