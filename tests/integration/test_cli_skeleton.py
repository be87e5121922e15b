"""``trifecta ast skeleton`` / ``ast symbols`` as real processes, including bad input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

GOOD = '''"""A module."""

MAX_SIZE = 10


class Message:
    """A message."""

    def get_payload(self, decode: bool = False) -> bytes:
        return b""

    class Part:
        def body(self) -> str:
            return ""


def helper(*args: int, **kw: str) -> None:
    pass
'''


@pytest.fixture
def segment(tmp_path: Path) -> Path:
    root = tmp_path / "seg"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "src" / "lib").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(GOOD)
    (root / "pkg" / "sub" / "deep.py").write_text("def deep(): ...\n")
    (root / "pkg" / "ignored.py").write_text("def hidden(): ...\n")
    (root / ".gitignore").write_text("pkg/ignored.py\n")
    (root / "src" / "lib" / "__init__.py").write_text("class Lib:\n    def run(self): ...\n")
    (root / "broken.py").write_text("class A:\n    def ok(self): ...\n\ndef bad(:\n    pass\n")
    (root / "latin.py").write_bytes("NAME = 'caf\u00e9'\ndef f(): ...\n".encode("latin-1"))
    (root / "blob.py").write_bytes(b"\x00\x01\x02" * 10)
    (root / "big.py").write_text("X = 1\n" * 400)
    (tmp_path / "outside.py").write_text("SECRET = 1\n")
    os.symlink(tmp_path / "outside.py", root / "escape.py")
    return root


def run(
    segment: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(segment, "--telemetry", "off", *args, check=False, env=env, cwd=segment)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("trifecta: error: ")
    return lines[0]


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


def test_one_file_json(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", "pkg/mod.py", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = as_json(proc)
    assert doc["path"] == "pkg/mod.py" and doc["parser"] == "ast" and not doc["partial"]
    assert doc["source_bytes"] == len(GOOD.encode()) and doc["skeleton_bytes"] > 0
    assert [s["qualname"] for s in doc["symbols"]] == [
        "MAX_SIZE",
        "Message",
        "Message.get_payload",
        "Message.Part",
        "Message.Part.body",
        "helper",
    ]
    payload = doc["symbols"][2]
    assert payload["signature"] == "def get_payload(self, decode: bool = False) -> bytes"
    assert (payload["line_start"], payload["line_end"]) == (9, 10)
    assert not doc["cache_hit"]
    assert as_json(run(segment, "ast", "skeleton", "pkg/mod.py", "--json"))["cache_hit"]


def test_text_is_a_stub_with_line_markers(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", str(segment / "pkg" / "mod.py"))
    assert proc.returncode == 0
    assert "    def get_payload(self, decode: bool = False) -> bytes: ...  # L9-10" in proc.stdout
    bare = run(segment, "ast", "skeleton", "pkg/mod.py", "--no-lines")
    assert "# L" not in bare.stdout.split("\n", 1)[1]


def test_directory_lists_every_py_not_gitignored(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", "pkg", "--json")
    assert proc.returncode == 0
    assert [d["path"] for d in as_json(proc)] == [
        "pkg/__init__.py",
        "pkg/mod.py",
        "pkg/sub/deep.py",
    ]


def test_a_directory_with_one_file_is_still_a_list(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", "pkg/sub", "--json")
    assert proc.returncode == 0
    assert [d["path"] for d in as_json(proc)] == ["pkg/sub/deep.py"]


def test_syntax_error_is_a_labelled_partial_answer(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", "broken.py", "--json")
    assert proc.returncode == 0
    doc = as_json(proc)
    assert doc["partial"] and doc["parser"] == "tree_sitter"
    assert "A.ok" in [s["qualname"] for s in doc["symbols"]]
    text = run(segment, "ast", "skeleton", "broken.py")
    assert "# partial" in text.stdout


def test_non_utf8_is_decoded_and_flagged(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", "latin.py", "--json")
    assert proc.returncode == 0
    doc = as_json(proc)
    assert doc["lossy"] is True
    assert doc["symbols"][0]["signature"] == "NAME = 'caf\ufffd'"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("blob.py", "binary file refused"),
        ("missing.py", "no such file"),
        ("escape.py", "leaves the segment"),
        ("../outside.py", "outside the segment"),
        ("/etc/hostname", "outside the segment"),
    ],
)
def test_bad_single_paths_are_one_line_exit_1(segment: Path, path: str, reason: str) -> None:
    proc = run(segment, "ast", "skeleton", path, "--json")
    assert proc.returncode == 1
    assert reason in one_line_error(proc)
    assert proc.stdout == ""


def test_oversized_file_is_refused_with_a_configurable_cap(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", "big.py", env={"TRIFECTA_FILES_MAX_BYTES": "1000"})
    assert proc.returncode == 1
    assert "over the 1000-byte size cap" in one_line_error(proc)
    assert run(segment, "ast", "skeleton", "big.py").returncode == 0  # default cap is 2 MB


def test_several_paths_report_each_failure_and_exit_1(segment: Path) -> None:
    proc = run(segment, "ast", "skeleton", "pkg/mod.py", "blob.py", "missing.py", "--json")
    assert proc.returncode == 1
    docs = as_json(proc)
    assert docs[0]["path"] == "pkg/mod.py" and docs[0]["symbols"]
    assert docs[1] == {
        "path": "blob.py",
        "error": "BinaryFile",
        "reason": "blob.py: binary file refused",
    }
    assert docs[2]["error"] == "FileMissing"
    assert len(proc.stderr.splitlines()) == 2 and "Traceback" not in proc.stderr


def test_cache_lives_in_the_segment(segment: Path) -> None:
    run(segment, "ast", "skeleton", "pkg/mod.py")
    assert (segment / "_ctx" / "cache" / "skeletons.sqlite3").is_file()


def test_symbols_of_a_module_and_a_member(segment: Path) -> None:
    proc = run(segment, "ast", "symbols", "sym://python/mod/pkg.mod", "--json")
    assert proc.returncode == 0
    assert as_json(proc)["path"] == "pkg/mod.py"
    member = as_json(
        run(segment, "ast", "symbols", "sym://python/mod/pkg.mod#Message.Part", "--json")
    )
    assert [s["qualname"] for s in member["symbols"]] == ["Message.Part", "Message.Part.body"]
    src = as_json(run(segment, "ast", "symbols", "sym://python/mod/lib#Lib", "--json"))
    assert src["path"] == "src/lib/__init__.py"
    assert [s["qualname"] for s in src["symbols"]] == ["Lib", "Lib.run"]


@pytest.mark.parametrize(
    ("selector", "code", "reason"),
    [
        ("sym://python/mod/pkg.mod#Nope", 1, "'Nope' is not defined"),
        ("sym://python/mod/pkg.absent", 1, "not found in the segment"),
        ("sym://python/mod/", 2, "malformed selector"),
    ],
)
def test_symbols_errors(segment: Path, selector: str, code: int, reason: str) -> None:
    proc = run(segment, "ast", "symbols", selector)
    assert proc.returncode == code
    assert reason in one_line_error(proc)
