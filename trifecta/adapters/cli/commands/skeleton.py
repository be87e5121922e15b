"""``trifecta ast skeleton PATH...`` and ``trifecta ast symbols SELECTOR``.

Exit codes: 0 when every path was served; otherwise the failing path's code for a single
path (1 for missing/binary/too large/outside/unparsable), and 1 when any of several paths
failed (each failure is listed: in the JSON list as ``{"path", "error", "reason"}``, in text
on stderr as one line per path; files a directory listing refused are failures too). A
directory with no Python file answers ``[]`` (text mode: a ``note:`` line on stderr), exit 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trifecta.adapters.cli.output import emit, fail, note, segment_for, terminal_safe
from trifecta.adapters.cli.parser import PROG
from trifecta.adapters.cli.render.skeletons import module_symbols_to_json, skeleton_to_json
from trifecta.application.skeletons.stub import render_stub
from trifecta.application.skeletons.use_cases import SkeletonFailure, SkeletonResult


def _failure_json(failure: SkeletonFailure) -> dict[str, Any]:
    return {"path": failure.path, "error": failure.error, "reason": failure.reason}


def _text(result: SkeletonResult, line_numbers: bool) -> str:
    stub = result.rendered if line_numbers else render_stub(result.skeleton, line_numbers=False)
    return f"# {result.path}\n{stub}"


def run_skeleton(ns: argparse.Namespace) -> int:
    line_numbers = not getattr(ns, "no_lines", False)
    with segment_for(ns) as segment:
        batch = segment.skeletons(ns.paths)
    items = batch.items
    single_file = batch.single_file and len(items) == 1
    if single_file and isinstance(items[0], SkeletonFailure):
        failure = items[0]
        return fail(ns, failure.error, failure.reason, None, failure.exit_code)
    payload: Any
    if single_file and isinstance(items[0], SkeletonResult):
        payload = skeleton_to_json(items[0])
    else:
        payload = [
            skeleton_to_json(i) if isinstance(i, SkeletonResult) else _failure_json(i)
            for i in items
        ]
    text = "\n".join(_text(r, line_numbers) for r in batch.results)
    emit(ns, payload, text)
    if not ns.json:
        for line in batch.notes:
            note(ns, line)
    for failure in batch.failures:
        sys.stderr.write(f"{PROG}: error: {terminal_safe(failure.reason)}\n")
    return 1 if batch.failures else 0


def run_symbols(ns: argparse.Namespace) -> int:
    with segment_for(ns) as segment:
        answer = segment.module_symbols(ns.selector)
    skeleton = answer.skeleton
    payload = module_symbols_to_json(answer)
    emit(ns, payload, f"# {skeleton.path}\n{render_stub(skeleton)}")
    return 0
