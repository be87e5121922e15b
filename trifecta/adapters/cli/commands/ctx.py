"""``trifecta ctx build|sync|search|get|validate|stats``: context packs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from trifecta.adapters.cli.output import emit, flags_from, write_text
from trifecta.api import Segment

if TYPE_CHECKING:
    from trifecta.application.packs.build import BuildReport


def _open(ns: argparse.Namespace) -> Segment:
    return Segment(ns.segment, flags_from(ns))


def _build(segment: Segment, ns: argparse.Namespace, incremental: bool) -> BuildReport:
    """Build or sync with the progress line on a terminal (``--quiet``: none)."""

    from trifecta.adapters.cli.progress import progress_line

    line = progress_line(sys.stderr, bool(getattr(ns, "quiet", False)))
    try:
        return segment.ctx_build(incremental, line, getattr(ns, "jobs", None))
    finally:
        if line is not None:
            line.close()


def run_build(ns: argparse.Namespace) -> int:
    segment = _open(ns)
    try:
        report = _build(segment, ns, incremental=False)
        emit(ns, report.to_dict(), report.to_text())
    finally:
        segment.close()
    return 0


def run_sync(ns: argparse.Namespace) -> int:
    """Incremental build, then validate what it changed (the original's ``sync`` = build +
    validate; the full check is ``ctx validate``): the exit code is the validation's (1,
    listing the problems, if the pack is not valid)."""

    segment = _open(ns)
    try:
        report = _build(segment, ns, incremental=True)
        validation = segment.ctx_validate(changed=report.read)
        emit(
            ns,
            {**report.to_dict(), "validation": validation.to_dict()},
            report.to_text() + validation.to_text(),
        )
    finally:
        segment.close()
    return 0 if validation.ok else 1


def run_search(ns: argparse.Namespace) -> int:
    from trifecta.adapters.cli.render.packs import search_json, search_text

    with _open(ns) as segment:
        result = segment.search(ns.query, limit=ns.limit, sync=ns.sync, files=bool(ns.files))
    emit(ns, search_json(result), search_text(result))
    return 0


def _ids(raw: str) -> tuple[str, ...]:
    """Comma-separated ids, deduplicated; none at all is refused by the use case (so the
    failure is recorded like any other)."""

    return tuple(dict.fromkeys(i.strip() for i in raw.split(",") if i.strip()))


def run_get(ns: argparse.Namespace) -> int:
    from trifecta.adapters.cli.render.packs import get_json, get_text

    with _open(ns) as segment:
        result = segment.get(
            _ids(ns.ids),
            mode=ns.mode,
            budget_token_est=ns.budget_token_est,
            max_chunks=ns.max_chunks,
            query=ns.query,
            stop_on_evidence=ns.stop_on_evidence,
            sync=ns.sync,
        )
    emit(ns, get_json(result), get_text(result, pd_report=ns.pd_report))
    return 0


def run_validate(ns: argparse.Namespace) -> int:
    segment = _open(ns)
    try:
        report = segment.ctx_validate()
        emit(ns, report.to_dict(), report.to_text())
    finally:
        segment.close()
    return 0 if report.ok else 1


def run_stats(ns: argparse.Namespace) -> int:
    segment = _open(ns)
    try:
        report = segment.ctx_stats()
        if ns.json:
            sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
        else:
            write_text(report.to_text())
    finally:
        segment.close()
    return 0
