"""``trifecta ctx build|sync|search|get|validate|stats``: context packs."""

from __future__ import annotations

import argparse
import json
import sys

from trifecta.adapters.cli.output import emit, flags_from
from trifecta.embedding import Segment


def _open(ns: argparse.Namespace) -> Segment:
    return Segment(ns.segment, flags_from(ns))


def run_build(ns: argparse.Namespace) -> int:
    segment = _open(ns)
    try:
        report = segment.ctx_build(incremental=False)
        emit(ns, report.to_dict(), report.to_text())
    finally:
        segment.close()
    return 0


def run_sync(ns: argparse.Namespace) -> int:
    """Incremental build, then validate (the original's ``sync`` = build + validate): the
    exit code is the validation's (1, listing the problems, if the pack is not valid)."""

    segment = _open(ns)
    try:
        report = segment.ctx_build(incremental=True)
        validation = segment.ctx_validate()
        emit(
            ns,
            {**report.to_dict(), "validation": validation.to_dict()},
            report.to_text() + validation.to_text(),
        )
    finally:
        segment.close()
    return 0 if validation.ok else 1


def run_search(ns: argparse.Namespace) -> int:
    from trifecta.application.packs.search import SearchRequest

    segment = _open(ns)
    try:
        limit = ns.limit if ns.limit is not None else 5
        result = segment.ctx_search(
            SearchRequest(ns.query, limit, ns.sync, bool(ns.json), bool(ns.files))
        )
        sys.stdout.write(result.rendered)
    finally:
        segment.close()
    return 0


def _ids(raw: str) -> tuple[str, ...]:
    """Comma-separated ids, deduplicated; none at all is refused by the use case (so the
    failure is recorded like any other)."""

    return tuple(dict.fromkeys(i.strip() for i in raw.split(",") if i.strip()))


def run_get(ns: argparse.Namespace) -> int:
    from trifecta.application.packs.get import GetRequest
    from trifecta.domain.model import ReadMode

    segment = _open(ns)
    try:
        request = GetRequest(
            ids=_ids(ns.ids),
            mode=ReadMode(ns.mode),
            budget_token_est=ns.budget_token_est if ns.budget_token_est is not None else 1500,
            max_chunks=ns.max_chunks if ns.max_chunks is not None else 20,
            stop_on_evidence=ns.stop_on_evidence,
            query=ns.query,
            sync=ns.sync,
            as_json=bool(ns.json),
            pd_report=ns.pd_report,
        )
        result = segment.ctx_get(request)
        sys.stdout.write(result.rendered)
    finally:
        segment.close()
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
            sys.stdout.write(report.to_text())
    finally:
        segment.close()
    return 0
