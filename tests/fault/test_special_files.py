"""A packed file replaced by a FIFO or a character device: every command finishes."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fault.helpers import assert_clean, cli, make_segment


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _zero_device(path: Path) -> None:
    # /dev/zero's numbers: read without a bound it never ends (we run as root in CI).
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))


@pytest.mark.parametrize("make_special", [_fifo, _zero_device], ids=["fifo", "char-device"])
def test_every_command_finishes_on_a_special_file(
    tmp_path: Path, make_special: Callable[[Path], None]
) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    hits = json.loads(cli(seg, "ctx", "search", "-q", "x_function", "--json").stdout)["hits"]
    x_id = next(h["id"] for h in hits if h["path"] == "x.py")
    (seg / "x.py").unlink()
    make_special(seg / "x.py")

    commands = [
        ("ctx", "search", "-q", "x_function"),
        ("ctx", "get", "-i", x_id, "--mode", "raw"),
        ("ctx", "validate"),
        ("ast", "skeleton", "x.py"),
        ("ast", "skeleton", "."),
        ("ast", "symbols", "sym://python/mod/x"),
        ("ast", "resolve", "x:x_function", "--no-lsp"),
        ("ast", "definition", "x.py:1:5", "--no-lsp"),
        ("ctx", "sync"),
        ("ctx", "build"),
    ]
    for args in commands:
        proc = cli(seg, *args, timeout=30)
        assert_clean(proc)
    # The rebuilt pack skipped it with a reason, and still serves the rest.
    report = json.loads(cli(seg, "ctx", "build", "--json").stdout)
    assert {"path": "x.py", "reason": "not a regular file"} in report["skipped"]
    found = json.loads(cli(seg, "ctx", "search", "-q", "helper", "--json").stdout)
    assert any(h["path"] == "pkg/mod.py" for h in found["hits"])


@pytest.mark.parametrize("make_special", [_fifo, _zero_device], ids=["fifo", "char-device"])
def test_the_reader_refuses_a_special_file_without_blocking(
    tmp_path: Path, make_special: Callable[[Path], None]
) -> None:
    from trifecta.adapters.filesystem.reader import LocalFileReader
    from trifecta.domain.errors import InputError

    make_special(tmp_path / "x.py")
    reader = LocalFileReader(tmp_path)
    with pytest.raises(InputError, match="not a regular file"):
        reader.read_text("x.py")


def test_a_fifo_in_place_of_the_pack_or_a_gitignore_never_blocks(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    os.mkfifo(seg / ".gitignore")
    build = cli(seg, "ctx", "build", timeout=30)
    assert_clean(build)
    assert build.returncode == 0, build.stderr
    pack = seg / "_ctx" / "context_pack.json"
    pack.unlink()
    os.mkfifo(pack)
    for args in (("ctx", "search", "-q", "helper"), ("ctx", "validate")):
        proc = cli(seg, *args, timeout=30)
        assert_clean(proc)
        assert proc.returncode == 1
        assert "not a regular file" in proc.stderr + proc.stdout
    rebuilt = cli(seg, "ctx", "build", timeout=30)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert cli(seg, "ctx", "search", "-q", "helper", timeout=30).returncode == 0
