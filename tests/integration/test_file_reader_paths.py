"""The FileReader path rules (``relative``, ``is_dir``), run against the fake and the real
local filesystem. An extension of tests/contract/test_file_reader_contract.py.

Rule: absolute paths are taken as they are; a path starting with ``./`` or ``../`` (or
``.``/``..`` alone) is relative to the current directory; any other relative path is
segment-relative if it exists in the segment, else relative to the current directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import FakeFileReader
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.domain.errors import PathOutsideSegment
from trifecta.domain.ports import FileReader

FILES: dict[str, bytes] = {
    "mod.py": b"ROOT = 1\n",
    "pkg/mod.py": b"PKG = 1\n",
    "pkg/only_here.py": b"X = 1\n",
    "pkg/sub/deep.py": b"Y = 1\n",
}

Factory = Callable[[Path, pytest.MonkeyPatch], FileReader]


def make_fake(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> FileReader:
    return FakeFileReader(FILES, cwd="pkg", dirs=["empty"], symlinks={"out": "../elsewhere"})


def make_real(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> FileReader:
    root = tmp / "seg"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "empty").mkdir()
    (tmp / "elsewhere").mkdir()
    os.symlink(tmp / "elsewhere", root / "out")
    monkeypatch.chdir(root / "pkg")
    return LocalFileReader(root)


@pytest.fixture(params=[make_fake, make_real], ids=["fake", "local"])
def reader(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FileReader:
    factory: Factory = request.param
    return factory(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("./mod.py", "pkg/mod.py"),  # ./ is the current directory, even if mod.py is at root
        ("mod.py", "mod.py"),  # segment-relative when it exists in the segment
        ("only_here.py", "pkg/only_here.py"),  # else relative to the current directory
        ("sub/deep.py", "pkg/sub/deep.py"),
        ("pkg/sub/deep.py", "pkg/sub/deep.py"),
        ("../mod.py", "mod.py"),
        ("./sub/../mod.py", "pkg/mod.py"),
        (".", "pkg"),
        ("..", ""),
        ("./missing.py", "pkg/missing.py"),
        ("missing.py", "pkg/missing.py"),
    ],
)
def test_relative_rule(reader: FileReader, given: str, expected: str) -> None:
    assert reader.relative(given) == expected


@pytest.mark.parametrize("given", ["../../x.py", "../..", "out", "./../out"])
def test_relative_refuses_paths_leaving_the_segment(reader: FileReader, given: str) -> None:
    with pytest.raises(PathOutsideSegment):
        reader.relative(given)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", True),
        ("pkg", True),
        ("pkg/sub", True),
        ("empty", True),
        ("mod.py", False),
        ("missing", False),
        ("out", False),  # a symlink leaving the segment is not a directory of it
    ],
)
def test_is_dir(reader: FileReader, path: str, expected: bool) -> None:
    assert reader.is_dir(path) is expected
