"""``trifecta ast resolve SELECTOR`` and ``trifecta ast definition FILE:LINE:COL``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trifecta.adapters.cli.output import emit, flags_from

if TYPE_CHECKING:
    from trifecta.domain.model import Resolution, SymbolLocation


def payload(resolution: Resolution) -> dict[str, Any]:
    """The JSON shape of an answer (docs/cli.md)."""

    return {
        "query": resolution.query,
        "resolved": resolution.resolved,
        "matches": [match_payload(m) for m in resolution.matches],
        "resolved_by": resolution.resolved_by,
        "fallback_reason": resolution.fallback_reason,
        "ambiguous": resolution.ambiguous,
        "evidence": resolution.evidence,
        "timing_ms": resolution.timing_ms,
    }


def match_payload(m: SymbolLocation) -> dict[str, Any]:
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


def render(resolution: Resolution) -> str:
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


def _run(ns: argparse.Namespace, command: str, query: str) -> int:
    from trifecta.domain.model import estimate_tokens
    from trifecta.embedding import Segment

    seg = Segment(ns.segment, flags_from(ns))
    try:
        ask = seg.resolve if command == "ast.resolve" else seg.definition
        resolution = ask(
            query, timeout_ms=ns.timeout_ms, require_lsp=ns.require_lsp, no_lsp=ns.no_lsp
        )
        data = payload(resolution)
        text = render(resolution)
        emit(ns, data, text)
        rendered = _rendered(ns, data, text)
        seg.telemetry.observe(command, resolution.timing_ms)
        seg.telemetry.event(
            command,
            {"query": resolution.query[:120]},
            {
                "resolved": resolution.resolved,
                "matches": len(resolution.matches),
                "resolved_by": resolution.resolved_by,
                "fallback_reason": resolution.fallback_reason,
            },
            resolution.timing_ms,
            tokens=estimate_tokens(rendered),
        )
        if not resolution.resolved:
            sys.stderr.write(f"trifecta: not found: {resolution.query}\n")
            return 1
        return 0
    finally:
        seg.close()


def _rendered(ns: argparse.Namespace, data: dict[str, Any], text: str) -> str:
    import json

    return json.dumps(data, ensure_ascii=False) if ns.json else text


def run_resolve(ns: argparse.Namespace) -> int:
    return _run(ns, "ast.resolve", ns.selector)


def run_definition(ns: argparse.Namespace) -> int:
    return _run(ns, "ast.definition", ns.position)
