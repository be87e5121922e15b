"""``trifecta ast resolve SELECTOR`` and ``trifecta ast definition FILE:LINE:COL``."""

from __future__ import annotations

import argparse
import sys

from trifecta.adapters.cli.output import emit, flags_from
from trifecta.adapters.cli.render.symbols import resolution_json, resolution_text


def _run(ns: argparse.Namespace, command: str, query: str) -> int:
    from trifecta.api import Segment

    with Segment(ns.segment, flags_from(ns)) as seg:
        ask = seg.resolve if command == "resolve" else seg.definition
        resolution = ask(
            query, timeout_ms=ns.timeout_ms, require_lsp=ns.require_lsp, no_lsp=ns.no_lsp
        )
    emit(ns, resolution_json(resolution), resolution_text(resolution))
    if not resolution.resolved:
        sys.stderr.write(f"trifecta: not found: {resolution.query}\n")
        return 1
    return 0


def run_resolve(ns: argparse.Namespace) -> int:
    return _run(ns, "resolve", ns.selector)


def run_definition(ns: argparse.Namespace) -> int:
    return _run(ns, "definition", ns.position)
