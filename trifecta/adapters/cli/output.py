"""Printing: text for people, one JSON document for programs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# Control characters a terminal acts on (ESC sequences, CSI, BEL, backspace, carriage
# return...), shown instead as ``\x1b``-style escapes; tab and newline are kept.
_CONTROLS = {
    code: f"\\x{code:02x}"
    for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))
    if code not in (0x09, 0x0A)
}


def terminal_safe(text: str) -> str:
    """``text`` with every control character neutralised: served file text, paths and
    messages can hold escape codes, which must not reach a terminal raw."""

    return text.translate(_CONTROLS)


def write_text(text: str) -> None:
    sys.stdout.write(terminal_safe(text))


def emit(ns: argparse.Namespace, payload: Any, text: str) -> None:
    """Print ``payload`` as JSON when ``--json`` was given, else ``text`` (terminal-safe;
    JSON escapes control characters itself)."""

    if ns.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=None) + "\n")
    else:
        write_text(text if text.endswith("\n") or not text else text + "\n")


def flags_from(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings layer given on the command line."""

    flags: dict[str, Any] = {}
    if ns.telemetry:
        flags["telemetry"] = {"level": ns.telemetry}
    timeout = getattr(ns, "timeout_ms", None)
    if timeout is not None:
        flags["lsp"] = {"timeout_ms": timeout}
    return flags
