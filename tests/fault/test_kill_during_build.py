"""SIGKILL at every step of a build or sync (a deterministic hook point, real processes):
the pack keeps serving search and get, and the next build leaves no temporary file."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

import trifecta
from tests.fault.helpers import cli, make_segment

STEPS = ("lock-taken", "pack-written", "index-written", "index-committed", "pack-committed")


def _temp_files(seg: Path) -> list[str]:
    return sorted(p.name for p in (seg / "_ctx").iterdir() if p.name.endswith(".tmp"))


def _build(seg_dir: Path, incremental: bool = False) -> None:
    with trifecta.open_segment(seg_dir) as seg:
        seg.ctx_build(incremental)


def _serves(seg_dir: Path) -> set[str]:
    """search + get answer, consistently (in process: the CLI maps the same calls); the
    versions of x.py's function they show."""

    with trifecta.open_segment(seg_dir) as seg:
        hits = seg.search("x_function", limit=5).hits
        ids = tuple(h.chunk.id for h in hits if h.chunk.path == "x.py")
        assert ids
        got = seg.get(ids, mode="raw")
    assert [c.chunk.id for c in got.chunks] == list(ids)  # served (raw, or marked stale)
    return {name for name in ("x_function_v1", "x_function_v2") if any(name in i for i in ids)}


@pytest.mark.parametrize("command", ["build", "sync"])
@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_keeps_a_serving_pack(tmp_path: Path, step: str, command: str) -> None:
    seg = make_segment(tmp_path)
    (seg / "x.py").write_text("def x_function_v1() -> int:\n    return 1\n")
    _build(seg)
    (seg / "x.py").write_text("def x_function_v2() -> int:\n    return 2\n")

    killed = cli(seg, "ctx", command, env={"TRIFECTA_FAULT_KILL_AT": step})
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)

    # The previous pack (or, past the index commit, the new one) serves, as a pair.
    assert len(_serves(seg)) == 1
    _build(seg)
    assert _temp_files(seg) == []
    assert _serves(seg) == {"x_function_v2"}


def test_temporary_files_of_killed_builds_do_not_pile_up(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    _build(seg)
    for step in ("pack-written", "index-written"):
        (seg / "x.py").write_text(f"def x_function() -> int:\n    return {len(step)}\n")
        killed = cli(seg, "ctx", "build", env={"TRIFECTA_FAULT_KILL_AT": step})
        assert killed.returncode == -signal.SIGKILL
    assert _temp_files(seg)  # the kills left their temporary files behind ...
    _build(seg, incremental=True)
    assert _temp_files(seg) == []  # ... and the next build (a sync) removed them
