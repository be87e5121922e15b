"""``trifecta ctx build|sync|search|get|validate|stats``: context packs."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from trifecta.adapters.cli.output import emit, note, segment_for, use_color
from trifecta.api import Segment
from trifecta.domain.errors import InvalidRequest

if TYPE_CHECKING:
    from trifecta.application.packs.build import BuildReport


def _open(ns: argparse.Namespace) -> Segment:
    return segment_for(ns)


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

    if ns.query_arg is not None and ns.query is not None:
        raise InvalidRequest("query", "given twice: as QUERY and as --query; give one")
    query = ns.query if ns.query is not None else ns.query_arg
    if query is None:
        raise InvalidRequest("query", "is missing: give QUERY (or --query QUERY)")
    with _open(ns) as segment:
        result = segment.search(query, limit=ns.limit, sync=ns.sync, files=bool(ns.files))
        emit(ns, search_json(result), search_text(result, color=use_color(ns)))
        if not result.hits:
            note(ns, f"no hits for {query!r}")
        from trifecta.adapters.cli.forward import IN_SERVER, maybe_launch

        if not IN_SERVER[0]:  # answered here, not by a search server
            maybe_launch(segment, result.freshness.checked)
    return 0


def _ids(ns: argparse.Namespace) -> tuple[str, ...]:
    """The ids given as ``ID...`` and/or ``--ids a,b`` (comma-separated), deduplicated;
    none at all is refused by the use case (so the failure is recorded like any other)."""

    given = [*ns.id_args, *([ns.ids] if ns.ids is not None else [])]
    return tuple(dict.fromkeys(i.strip() for raw in given for i in raw.split(",") if i.strip()))


def run_get(ns: argparse.Namespace) -> int:
    from trifecta.adapters.cli.render.packs import get_json, get_text

    with _open(ns) as segment:
        result = segment.get(
            _ids(ns),
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
        emit(ns, report.to_dict(), report.to_text())
    finally:
        segment.close()
    return 0


def run_serve(ns: argparse.Namespace) -> int:
    """``ctx serve``: run the search server in the foreground (``--status``, ``--stop``:
    ask the running one)."""

    from pathlib import Path

    from trifecta.adapters.cli.forward import server_status, stop_server

    root = Path(ns.segment)
    if ns.status:
        status = server_status(root)
        text = "no search server is running" if status is None else _describe_server(status)
        emit(ns, {"running": status is not None, "status": status}, text)
        return 0
    if ns.stop:
        stopped = stop_server(root)
        emit(ns, {"stopped": stopped}, "stopped" if stopped else "no search server was running")
        return 0
    from trifecta.adapters.cli.forward import FAILED_NAME, SOCKET_NAME
    from trifecta.adapters.cli.server import AlreadyServing, CtxServer

    server = CtxServer(root, ns.idle_timeout_s)
    try:
        server.acquire()
    except AlreadyServing:
        server.close()
        raise
    except BaseException as e:  # recorded: searches do not launch another for a minute
        server.close()
        with contextlib.suppress(OSError):
            (root / "_ctx" / FAILED_NAME).write_text(f"{type(e).__name__}: {e}\n")
        raise
    with contextlib.suppress(OSError):
        (root / "_ctx" / FAILED_NAME).unlink()
    note(
        ns, f"search server for {server.root} on _ctx/{SOCKET_NAME} (pid {server.status()['pid']})"
    )
    server.serve()
    note(ns, f"search server stopped ({server.stop_reason}; {server.requests} calls served)")
    return 0


def _describe_server(status: dict[str, object]) -> str:
    return (
        f"running: pid {status['pid']}, up {status['uptime_s']} s, idle {status['idle_s']} s "
        f"(exits after {status['idle_timeout_s']} s), {status['requests']} calls served, "
        f"{status['declined']} declined"
    )
