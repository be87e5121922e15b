"""``trifecta lsp start|status|stop|serve``: the segment's warm background pyright."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trifecta.adapters.cli.output import emit, flags_from


def lsp_state(facts: dict[str, Any]) -> str:
    """The seed's READY: initialized AND (first diagnostics OR first successful
    definition). A finished workspace scan alone is not READY."""

    if facts.get("ready_via"):
        return f"ready (via {facts['ready_via']})"
    if facts.get("scan_done"):
        return "scanned (ready after the first definition)"
    if facts.get("initialized"):
        return "initialized, scanning the workspace"
    return "starting"


def _describe(status: dict[str, Any] | None) -> str:
    if status is None:
        return "no warm language server runs for this segment"
    if status.get("answering") is False:
        return (
            f"running (pid {status['pid']}) but not answering ({status.get('state')}); "
            "`trifecta lsp stop` kills it"
        )
    state = lsp_state(status.get("facts", {}))
    return (
        f"running (pid {status['pid']}), {state}, up {status['uptime_s']} s, "
        f"idle {status['idle_s']} s of {status['idle_timeout_s']} s, "
        f"{status['requests']} requests"
    )


def run_start(ns: argparse.Namespace) -> int:
    from trifecta.api import Segment
    from trifecta.domain.errors import LanguageServerError

    seg = Segment(ns.segment, flags_from(ns))
    reason = None
    try:
        status = seg.lsp_start()
    except LanguageServerError as e:
        status, reason = None, str(e) or type(e).__name__
    finally:
        seg.close()
    payload: dict[str, Any] = {"running": status is not None, "status": status}
    if reason is not None:
        payload["error"] = reason
        sys.stderr.write(f"trifecta: error: {reason}\n")
    text = _describe(status) if reason is None else ""  # the reason went to stderr
    emit(ns, payload, text)
    return 0 if status is not None else 1


def run_status(ns: argparse.Namespace) -> int:
    from trifecta.api import Segment

    seg = Segment(ns.segment, flags_from(ns))
    try:
        status = seg.lsp_status()
    finally:
        seg.close()
    emit(ns, {"running": status is not None, "status": status}, _describe(status))
    return 0


def run_stop(ns: argparse.Namespace) -> int:
    from trifecta.api import Segment

    seg = Segment(ns.segment, flags_from(ns))
    try:
        stopped = seg.lsp_stop()
    finally:
        seg.close()
    text = "stopped" if stopped else "no warm language server was running"
    emit(ns, {"stopped": stopped}, text)
    return 0


def run_serve(ns: argparse.Namespace) -> int:
    from trifecta.api import Segment

    flags = flags_from(ns)
    flags.setdefault("lsp", {})["mode"] = "process"
    seg = Segment(ns.segment, flags)
    try:
        seg.lsp_serve(ns.idle_timeout_s)
    finally:
        seg.close()
    sys.stderr.write("trifecta: warm language server stopped\n")
    return 0
