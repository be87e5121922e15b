"""``trifecta ast skeleton``: which file a path names, refusals inside directories,
non-Python files (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli


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
    return run_cli(segment, "--telemetry", "off", *args, check=False, env=env, cwd=cwd)


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


@pytest.fixture
def refusing(tmp_path: Path) -> Path:
    """``d1`` holds only refused files; ``mixed`` holds them next to a good one."""

    root = tmp_path / "seg"
    for folder in ("d1", "mixed"):
        (root / folder).mkdir(parents=True)
        (root / folder / "big.py").write_text("X = 1\n" * 400_000)  # 2.4 MB
        os.symlink(tmp_path / "outside.py", root / folder / "esc.py")
    (tmp_path / "outside.py").write_text("SECRET = 1\n")
    (root / "mixed" / "good.py").write_text("def good(): ...\n")
    (root / "empty").mkdir()
    (root / "docs").mkdir()
    (root / "docs" / "notes.md").write_text("# notes\n")
    (root / "x.py").mkdir()
    (root / "x.py" / "inner.py").write_text("def inner(): ...\n")
    (root / "Makefile").write_text(".PHONY: all\nall:\n\techo hi\n")
    (root / "stub.pyi").write_text("def f(x: int) -> str: ...\n")
    return root


def test_a_directory_of_refused_files_names_each_with_a_reason(refusing: Path) -> None:
    proc = run(refusing, "ast", "skeleton", "d1", "--json")
    assert proc.returncode == 1
    assert "is a directory" not in proc.stderr and "Traceback" not in proc.stderr
    docs = as_json(proc)
    assert [(d["path"], d["error"]) for d in docs] == [
        ("d1/big.py", "FileRefused"),
        ("d1/esc.py", "FileRefused"),
    ]
    assert "size cap" in docs[0]["reason"] and "leaves the segment" in docs[1]["reason"]
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("trifecta: error: d1/") for line in lines)


def test_a_mixed_directory_lists_refusals_in_place(refusing: Path) -> None:
    proc = run(refusing, "ast", "skeleton", "mixed", "--json")
    assert proc.returncode == 1
    docs = as_json(proc)
    assert [d["path"] for d in docs] == ["mixed/big.py", "mixed/esc.py", "mixed/good.py"]
    assert docs[2]["symbols"][0]["name"] == "good"


@pytest.mark.parametrize("folder", ["empty", "docs"])
def test_a_directory_without_python_is_an_empty_answer(refusing: Path, folder: str) -> None:
    proc = run(refusing, "ast", "skeleton", folder, "--json")
    assert proc.returncode == 0 and as_json(proc) == [] and proc.stderr == ""
    text = run(refusing, "ast", "skeleton", folder)
    assert text.returncode == 0 and text.stdout == ""
    (line,) = text.stderr.splitlines()
    assert line.startswith(f"trifecta: note: {folder}: ")


def test_a_directory_named_x_py_is_a_directory(refusing: Path) -> None:
    proc = run(refusing, "ast", "skeleton", "x.py", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [d["path"] for d in as_json(proc)] == ["x.py/inner.py"]


def test_a_non_python_file_is_refused(refusing: Path) -> None:
    proc = run(refusing, "ast", "skeleton", "Makefile", "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert (
        line == "trifecta: error: Makefile: not a Python file (only .py and .pyi are skeletonized)"
    )


def test_a_stub_file_is_served(refusing: Path) -> None:
    proc = run(refusing, "ast", "skeleton", "stub.pyi", "--json")
    assert proc.returncode == 0, proc.stderr
    assert as_json(proc)["symbols"][0]["signature"] == "def f(x: int) -> str"


@pytest.mark.parametrize("name", ["d[1]", "a*b", "q?"])
def test_a_directory_name_with_glob_characters_is_taken_literally(segment: Path, name: str) -> None:
    (segment / name).mkdir()
    (segment / name / "a.py").write_text("def f(): ...\n")
    proc = run(segment, "ast", "skeleton", name, "--json")
    assert proc.returncode == 0, proc.stderr
    assert [d["path"] for d in as_json(proc)] == [f"{name}/a.py"]
