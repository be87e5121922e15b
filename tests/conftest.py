"""Shared fixtures."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.telemetry_leaks import scan


# ---- telemetry: every telemetry line a test writes is checked for leaks --------------------
@pytest.fixture(autouse=True)
def _no_telemetry_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    if "tmp_path" not in request.fixturenames:
        yield
        return
    base = request.getfixturevalue("tmp_path")
    yield
    problems = scan(base)
    assert not problems, "telemetry leaked a path or the user name:\n" + "\n".join(problems[:20])


# ---- symbols: no language-server process outlives the test run ---------------------------
MARKERS = (b"langserver", b"lsp\x00serve")


def language_server_processes() -> set[int]:
    """Running (non-zombie) pyright/node/daemon processes of THIS venv (other checkouts on
    the machine run their own)."""

    prefix = sys.prefix.encode()
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        state = stat[stat.rfind(b")") + 2 :].split()[:1]
        if state == [b"Z"]:
            continue
        if prefix in cmdline and any(m in cmdline for m in MARKERS):
            found.add(int(name))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_orphan_language_servers() -> Iterator[None]:
    before = language_server_processes()
    yield
    deadline = time.monotonic() + 10
    left = language_server_processes() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = language_server_processes() - before
    assert not left, f"language-server processes survived the test run: {sorted(left)}"
