"""Shared helpers of the fault-injection suite: a small segment and the CLI as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Every command of a fault test must finish within this (its deadline + slack on a loaded
# 2-core machine): a hang is a failure, never a wait.
COMMAND_TIMEOUT_S = 60

MODULE = '''"""A module."""


def helper(value: int) -> int:
    """Double it."""
    return value * 2


class Service:
    def run(self) -> int:
        return helper(21)
'''


def make_segment(base: Path) -> Path:
    seg = base / "seg"
    (seg / "pkg").mkdir(parents=True)
    (seg / "pkg" / "__init__.py").write_text("")
    (seg / "pkg" / "mod.py").write_text(MODULE)
    (seg / "x.py").write_text("def x_function() -> int:\n    return 1\n")
    (seg / "README.md").write_text("# Seg\n\nA helper service.\n")
    return seg


def cli(
    segment: Path, *args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; a hang fails the test through ``TimeoutExpired``."""

    return subprocess.run(
        [sys.executable, "-m", "trifecta", "--segment", str(segment), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=segment,
        env={**os.environ, "TRIFECTA_TELEMETRY": "lite", **(env or {})},
    )


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    """No traceback and no ``internal error``: a one-line error or an answer."""

    assert "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr


def process_state(pid: int) -> str:
    """The one-letter state of a process (``T`` stopped, ``Z`` zombie...)."""

    data = Path(f"/proc/{pid}/stat").read_bytes()
    return data[data.rfind(b")") + 2 :].split()[0].decode()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def popen_cli(
    segment: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "trifecta", "--segment", str(segment), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=segment,
        env={**os.environ, "TRIFECTA_TELEMETRY": "lite", **(env or {})},
    )
