"""The FileReader contract, run against the fake and the real local filesystem."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import FakeFileReader
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.domain.errors import BinaryFile, FileMissing, FileTooLarge, PathOutsideSegment
from trifecta.domain.model import ReadMode
from trifecta.domain.ports import FileReader

FILES: dict[str, bytes] = {
    "a.py": b"def f():\n    return 1\n",
    "docs/guide.md": b"# Guide\n\ntext\n",
    "latin1.py": "x = 'caf\u00e9'\n".encode("latin-1"),
    "blob.py": b"\x00\x01\x02binary",
    "big.py": b"x = 1\n" * 200,
}
MAX = 1000

Factory = Callable[[Path], FileReader]


def make_fake(tmp: Path) -> FileReader:
    return FakeFileReader(FILES, max_bytes=MAX, symlinks={"escape.py": "../outside.py"})


def make_real(tmp: Path) -> FileReader:
    root = tmp / "seg"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (tmp / "outside.py").write_text("SECRET = 1\n")
    os.symlink(tmp / "outside.py", root / "escape.py")
    return LocalFileReader(root, max_bytes=MAX)


@pytest.fixture(params=[make_fake, make_real], ids=["fake", "local"])
def reader(request: pytest.FixtureRequest, tmp_path: Path) -> FileReader:
    factory: Factory = request.param
    return factory(tmp_path)


def test_reads_text_and_counts_bytes_per_mode(reader: FileReader) -> None:
    text = reader.read_text("a.py", ReadMode.SKELETON)
    assert text.text == "def f():\n    return 1\n"
    assert text.size_bytes == len(FILES["a.py"])
    assert not text.lossy
    assert reader.bytes_read()[ReadMode.SKELETON] == len(FILES["a.py"])
    assert reader.bytes_read()[ReadMode.RAW] == 0


def test_non_utf8_is_decoded_with_replacement_and_flagged(reader: FileReader) -> None:
    text = reader.read_text("latin1.py")
    assert text.lossy
    assert "\ufffd" in text.text


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("missing.py", FileMissing),
        ("blob.py", BinaryFile),
        ("big.py", FileTooLarge),
        ("escape.py", PathOutsideSegment),
        ("../outside.py", PathOutsideSegment),
    ],
)
def test_refusals(reader: FileReader, path: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        reader.read_text(path)
    assert sum(reader.bytes_read().values()) == 0


def test_listing_is_sorted_filtered_and_reports_skips(reader: FileReader) -> None:
    entries, skipped = reader.list_files(["**/*.py"])
    paths = [e.path for e in entries]
    assert paths == sorted(paths)
    assert "a.py" in paths and "docs/guide.md" not in paths
    assert "escape.py" not in paths
    reasons = {s.path: s.reason for s in skipped}
    assert "symlink leaves the segment" in reasons["escape.py"]
    assert "big.py" in reasons


def test_stat_of_missing_and_outside_is_none(reader: FileReader) -> None:
    assert reader.stat("missing.py") is None
    assert reader.stat("escape.py") is None
    stat = reader.stat("a.py")
    assert stat is not None and stat.size == len(FILES["a.py"])


def test_stamps_are_what_stat_says_in_order(reader: FileReader) -> None:
    paths = ["docs", "a.py", "missing.py", "escape.py", "docs/guide.md", "nodir/x.py", "big.py"]
    expected = []
    for path in paths:
        entry = reader.stat(path)
        expected.append(None if entry is None else (entry.size, entry.mtime_ns))
    assert reader.stamps(paths) == expected
    assert expected[1] == (len(FILES["a.py"]), expected[1][1])  # type: ignore[index]
    assert expected[2] is None and expected[3] is None


def test_local_stamps_confine_through_symlinked_directories(tmp_path: Path) -> None:
    root = tmp_path / "seg"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "sub" / "m.py").write_text("x = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    outside = tmp_path / "out"
    outside.mkdir()
    (outside / "m.py").write_text("SECRET = 1\n")
    os.symlink(outside, root / "away")  # a directory leading out of the segment
    os.symlink(root / "pkg", root / "alias")  # a directory leading back inside
    os.symlink(root / ".git" / "config", root / "gitconfig")
    reader = LocalFileReader(root)
    paths = ["away", "away/m.py", "alias/sub/m.py", "pkg/sub/m.py", ".git/config", "gitconfig"]
    got = reader.stamps(paths)
    inside = (root / "pkg" / "sub" / "m.py").stat()
    assert got == [None, None, *[(inside.st_size, inside.st_mtime_ns)] * 2, None, None]
    assert got == [None if (e := reader.stat(p)) is None else (e.size, e.mtime_ns) for p in paths]
