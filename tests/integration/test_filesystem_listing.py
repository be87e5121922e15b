"""LocalFileReader listing on real files: .gitignore rules, always-skipped dirs, paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.domain.errors import PathOutsideSegment


def _write(root: Path, rel: str, text: str = "x = 1\n") -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text)


def test_gitignore_rules_apply_including_nested_and_negation(tmp_path: Path) -> None:
    for rel in [
        "keep.py",
        "gen/out.py",
        "docs/build/x.md",
        "pkg/a.py",
        "pkg/tmp_1.py",
        "pkg/tmp_keep.py",
        ".venv/lib.py",
        "_ctx/x.md",
        "sub/deep/c.py",
    ]:
        _write(tmp_path, rel)
    (tmp_path / ".gitignore").write_text("gen/\n/sub/deep\n*.log\n")
    (tmp_path / "pkg" / ".gitignore").write_text("tmp_*.py\n!tmp_keep.py\n")
    entries, _ = LocalFileReader(tmp_path).list_files(["**/*.py", "**/*.md"])
    assert [e.path for e in entries] == [
        "docs/build/x.md",  # not excluded by a name list, unlike the original
        "keep.py",
        "pkg/a.py",
        "pkg/tmp_keep.py",
    ]


def test_relative_maps_user_paths_and_refuses_outside(tmp_path: Path) -> None:
    root = tmp_path / "seg"
    _write(root, "pkg/a.py")
    reader = LocalFileReader(root)
    assert reader.relative(str(root / "pkg" / "a.py")) == "pkg/a.py"
    assert reader.relative("pkg/a.py") == "pkg/a.py"
    with pytest.raises(PathOutsideSegment):
        reader.relative(str(tmp_path))
    (tmp_path / "out.py").write_text("x = 2\n")
    os.symlink(tmp_path / "out.py", root / "link.py")
    with pytest.raises(PathOutsideSegment):
        reader.relative("link.py")
