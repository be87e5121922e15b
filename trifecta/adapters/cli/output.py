"""Printing: text for people, one JSON document for programs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def emit(ns: argparse.Namespace, payload: Any, text: str) -> None:
    """Print ``payload`` as JSON when ``--json`` was given, else ``text``."""

    if ns.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=None) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def flags_from(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings layer given on the command line."""

    flags: dict[str, Any] = {}
    if ns.telemetry:
        flags["telemetry"] = {"level": ns.telemetry}
    timeout = getattr(ns, "timeout_ms", None)
    if timeout is not None:
        flags["lsp"] = {"timeout_ms": timeout}
    return flags
