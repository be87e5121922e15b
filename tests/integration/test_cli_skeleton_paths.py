"""``trifecta ast skeleton``: which file a path names, refusals inside directories,
non-Python files (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def segment(tmp_path: Path) -> Path:
    root = tmp_path / "seg"
    (root / "pkg").mkdir(parents=True)
    (root / "mod.py").write_text("def at_root(): ...\n")
    (root / "pkg" / "mod.py").write_text("def in_pkg(): ...\n")
    return root


def run(
    cwd: Path, *args: str, segment: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    seg = ["--segment", segment] if segment is not None else []
    return subprocess.run(
        [sys.executable, "-m", "trifecta", *seg, "--telemetry", "off", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


def test_dot_slash_is_the_current_directory(segment: Path) -> None:
    proc = run(segment / "pkg", "ast", "skeleton", "./mod.py", "--json", segment="..")
    assert proc.returncode == 0, proc.stderr
    doc = as_json(proc)
    assert doc["path"] == "pkg/mod.py"
    assert [s["name"] for s in doc["symbols"]] == ["in_pkg"]


def test_a_plain_relative_path_is_segment_relative_first(segment: Path) -> None:
    proc = run(segment / "pkg", "ast", "skeleton", "mod.py", "--json", segment="..")
    assert proc.returncode == 0, proc.stderr
    assert as_json(proc)["path"] == "mod.py"
