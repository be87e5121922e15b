"""The warm server's wire format: one JSON object per line over a Unix stream socket.

Request ``{"op": "definition", "args": {...}}``; answer ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "<LanguageServer* class name>", "message": "..."}``.
Locations travel as lists ``[path, line, column, end_line, kind, qualname, external,
module]`` (an external location has an empty path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trifecta.adapters.unix_socket import connectable as connectable  # re-exported
from trifecta.domain import errors
from trifecta.domain.model import LspFacts, SymbolLocation

SOCKET_NAME = "lsp.sock"
LOCK_NAME = "lsp.lock"
PID_NAME = "lsp.pid"
LOG_NAME = "lsp.log"
FAILED_NAME = "lsp.failed"  # why the last server could not start pyright (one line)
FAILED_FRESH_S = 60  # for this long, calls answer lsp_unavailable instead of relaunching
MAX_LINE = 4 * 1024 * 1024

ERRORS: dict[str, type[errors.LanguageServerError]] = {
    cls.__name__: cls
    for cls in (
        errors.LanguageServerError,
        errors.LanguageServerUnavailable,
        errors.LanguageServerCold,
        errors.LanguageServerCrashed,
        errors.LanguageServerNotReady,
        errors.LanguageServerTimeout,
    )
}


def state_dir(root: Path) -> Path:
    return root / "_ctx"


def socket_path(root: Path) -> Path:
    return state_dir(root) / SOCKET_NAME


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message


def location_to_wire(loc: SymbolLocation) -> list[Any]:
    return [
        loc.path,
        loc.line,
        loc.column,
        loc.end_line,
        loc.kind,
        loc.qualname,
        loc.external,
        loc.module,
    ]


def location_from_wire(item: list[Any]) -> SymbolLocation:
    """Also reads the six-item lists of a warm server started by an older version."""

    path, line, column, end_line, kind, qualname = item[:6]
    external, module = (bool(item[6]), item[7]) if len(item) >= 8 else (False, None)
    return SymbolLocation(
        str(path),
        int(line),
        int(column),
        int(end_line),
        str(kind),
        qualname,
        external=external,
        module=None if module is None else str(module),
    )


def facts_to_wire(facts: LspFacts) -> dict[str, Any]:
    return {
        "spawned": facts.spawned,
        "initialized": facts.initialized,
        "ready_via": facts.ready_via,
        "ready_ms": facts.ready_ms,
        "scan_done": facts.scan_done,
        "diagnostics_count": facts.diagnostics_count,
    }


def facts_from_wire(data: dict[str, Any]) -> LspFacts:
    return LspFacts(
        spawned=bool(data.get("spawned")),
        initialized=bool(data.get("initialized")),
        ready_via=data.get("ready_via"),
        ready_ms=data.get("ready_ms"),
        scan_done=bool(data.get("scan_done")),
        diagnostics_count=int(data.get("diagnostics_count", 0)),
    )


def error_from_wire(name: str, message: str) -> errors.LanguageServerError:
    return ERRORS.get(name, errors.LanguageServerError)(message)
