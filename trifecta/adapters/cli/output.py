"""Printing: text for people, one JSON document for programs; colour only on terminals."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from trifecta.api import Segment

PROG = "trifecta"
_CODES = {"path": "36", "score": "33", "warn": "33;1", "error": "31;1"}


def use_color(ns: argparse.Namespace, stream: Any = None) -> bool:
    """``--color always|never``; ``auto`` (default): only on a terminal and without
    ``NO_COLOR`` (https://no-color.org: set and not empty)."""

    mode = getattr(ns, "color", "auto")
    if mode == "always":
        return True
    if mode == "never" or getattr(ns, "json", False) or os.environ.get("NO_COLOR"):
        return False
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, role: str, on: bool) -> str:
    """``text`` wrapped in the ANSI colour of ``role`` (path, score, warn, error) when ``on``."""

    return f"\033[{_CODES[role]}m{text}\033[0m" if on else text


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


# The exact sequences ``paint`` writes: kept by ``painted_safe``, every other control
# character neutralised.
_PAINT = re.compile("(" + "|".join(re.escape(f"\033[{c}m") for c in (*_CODES.values(), "0")) + ")")


def painted_safe(text: str) -> str:
    """``terminal_safe`` but keeping the colour codes ``paint`` writes (text output with
    colour on: at worst a served file's own copy of one of those codes changes a colour)."""

    parts = _PAINT.split(text)
    return "".join(p if i % 2 else terminal_safe(p) for i, p in enumerate(parts))


def write_text(text: str, color: bool = False) -> None:
    sys.stdout.write(painted_safe(text) if color else terminal_safe(text))


def emit(ns: argparse.Namespace, payload: Any, text: str) -> None:
    """Print ``payload`` as JSON when ``--json`` was given (a dict gains the ``segment`` it
    answered for), else ``text`` (terminal-safe but for our own colour codes; JSON escapes
    control characters itself)."""

    if ns.json:
        if isinstance(payload, dict) and "segment" not in payload and ns.segment:
            payload = {**payload, "segment": str(ns.segment)}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=None) + "\n")
    else:
        text = text if text.endswith("\n") or not text else text + "\n"
        write_text(text, use_color(ns))


def note(ns: argparse.Namespace, message: str) -> None:
    """A ``trifecta: note: ...`` line on stderr, unless ``--quiet``."""

    if not getattr(ns, "quiet", False):
        sys.stderr.write(f"{PROG}: note: {terminal_safe(message)}\n")


def error_document(kind: str, message: str, hint: str | None, exit_code: int) -> str:
    """The ``--json`` form of a failure (one line)."""

    error = {"type": kind, "message": message, "hint": hint, "exit_code": exit_code}
    return json.dumps({"error": error}, ensure_ascii=False)


def fail(
    ns: argparse.Namespace,
    kind: str,
    message: str,
    hint: str | None,
    exit_code: int,
    line: str | None = None,
) -> int:
    """Report a failure: the one line on stderr (``line``, default ``message; hint``) and,
    under ``--json``, the error document on stdout. Returns ``exit_code``."""

    if getattr(ns, "json", False):
        sys.stdout.write(error_document(kind, message, hint, exit_code) + "\n")
    if line is None:
        line = f"{message}; {hint}" if hint else message
    label = paint("error", "error", use_color(ns, sys.stderr))
    sys.stderr.write(f"{PROG}: {label}: {terminal_safe(line)}\n")
    return exit_code


def flags_from(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings layer given on the command line."""

    flags: dict[str, Any] = {}
    if ns.telemetry:
        flags["telemetry"] = {"level": ns.telemetry}
    timeout = getattr(ns, "timeout_ms", None)
    if timeout is not None:
        flags["lsp"] = {"timeout_ms": timeout}
    return flags


# Set by the search server (``cli/server.py``) while it runs a forwarded command: lends the
# command its open segment (or declines the command).
LENDER: Callable[[argparse.Namespace, dict[str, Any]], Segment] | None = None


def segment_for(ns: argparse.Namespace, flags: dict[str, Any] | None = None) -> Segment:
    """The segment the command works on, with its settings files and flags."""

    from trifecta.api import Segment

    flags = flags_from(ns) if flags is None else flags
    if LENDER is not None:
        return LENDER(ns, flags)
    return Segment(ns.segment, flags, config=ns.config)
