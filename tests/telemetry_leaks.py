"""The privacy check behind every test: no telemetry file a test produced may contain the
test's temporary directory, the home directory or the user name (issue 3 acceptance).

``scan`` is used by the autouse fixture in ``tests/conftest.py`` after each test that used
``tmp_path``, and by a test that plants a leak to prove the scan can fail.
"""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from trifecta.application.telemetry.redaction import GENERIC_USERS

TELEMETRY_FILES = ("*.jsonl", "metrics.json", "last_run.json")


def telemetry_files(base: Path) -> list[Path]:
    found: list[Path] = []
    for directory in base.rglob("telemetry"):
        if directory.parent.name != "_ctx" or not directory.is_dir():
            continue
        for pattern in TELEMETRY_FILES:
            found.extend(directory.rglob(pattern))
    return found


def forbidden(base: Path) -> list[str]:
    needles = {str(base), os.path.realpath(base)}
    home = os.path.expanduser("~")
    if home not in ("", "/", "~"):
        needles.add(home)
    return sorted(needles)


def scan(base: Path) -> list[str]:
    """Lines (file:line: needle) of telemetry files under ``base`` that leak a path or the
    user name; empty when clean."""

    needles = forbidden(base)
    try:
        user: str | None = getpass.getuser()
    except (KeyError, OSError):
        user = None
    if user in GENERIC_USERS:
        user = None
    user_rx = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(user)}(?![A-Za-z0-9_])") if user else None
    problems = []
    for path in telemetry_files(base):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for needle in needles:
                if needle in line:
                    problems.append(f"{path.name}:{number}: contains {needle}")
            if user_rx is not None and user_rx.search(line):
                problems.append(f"{path.name}:{number}: contains the user name")
    return problems
