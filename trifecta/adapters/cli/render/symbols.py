"""``ast resolve`` / ``ast definition`` answers as text and JSON (docs/cli.md)."""

from __future__ import annotations

from typing import Any

from trifecta.domain.model import Resolution, SymbolLocation


def resolution_json(resolution: Resolution) -> dict[str, Any]:
    return {
        "query": resolution.query,
        "resolved": resolution.resolved,
        "matches": [match_json(m) for m in resolution.matches],
        "resolved_by": resolution.resolved_by,
        "fallback_reason": resolution.fallback_reason,
        "ambiguous": resolution.ambiguous,
        "evidence": resolution.evidence,
        "timing_ms": resolution.timing_ms,
    }


def match_json(m: SymbolLocation) -> dict[str, Any]:
    """One match; an external one has ``path``, ``line``, ``column``, ``end_line`` null."""

    inside = not m.external
    return {
        "path": m.path if inside else None,
        "line": m.line if inside else None,
        "column": m.column if inside else None,
        "end_line": m.end_line if inside else None,
        "kind": m.kind,
        "qualname": m.qualname,
        "external": m.external,
        "module": m.module,
        "related_lines": list(m.related_lines),
    }


def resolution_text(resolution: Resolution) -> str:
    lines = []
    for m in resolution.matches:
        what = " ".join(x for x in (m.kind, m.qualname or "") if x and x != "unknown")
        where = f"external {m.module or '?'}" if m.external else f"{m.path}:{m.line}:{m.column}"
        lines.append(where + (f"  {what}" if what else ""))
    by = resolution.resolved_by
    why = f", {resolution.fallback_reason}" if resolution.fallback_reason else ""
    note = " ambiguous:" if resolution.ambiguous else ""
    how = f" ({resolution.evidence})" if resolution.evidence else ""
    lines.append(f"#{note} answered by {by}{how}{why} in {resolution.timing_ms} ms")
    if not resolution.matches:
        lines.insert(0, f"not found: {resolution.query}")
    return "\n".join(lines)
