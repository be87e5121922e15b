"""SIGKILL at every step of a build or sync (a deterministic hook point, real processes):
the pack keeps serving search and get, and the next build leaves no temporary file."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.fault.helpers import assert_clean, cli, make_segment

STEPS = ("lock-taken", "pack-written", "index-written", "index-committed", "pack-committed")


def _temp_files(seg: Path) -> list[str]:
    return sorted(p.name for p in (seg / "_ctx").iterdir() if p.name.endswith(".tmp"))


def _serves(seg: Path) -> set[str]:
    """search + get answer, consistently; the function names of x.py they show."""

    proc = cli(seg, "ctx", "search", "-q", "x_function", "--json")
    assert_clean(proc)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["hits"]
    ids = [h["id"] for h in hits if h["path"] == "x.py"]
    assert ids
    got = cli(seg, "ctx", "get", "-i", ",".join(ids), "--mode", "raw", "--json")
    assert_clean(got)
    assert got.returncode == 0, got.stderr
    text = json.dumps(json.loads(got.stdout))
    return {name for name in ("x_function_v1", "x_function_v2") if name in text}


@pytest.mark.parametrize("command", ["build", "sync"])
@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_keeps_a_serving_pack(tmp_path: Path, step: str, command: str) -> None:
    seg = make_segment(tmp_path)
    (seg / "x.py").write_text("def x_function_v1() -> int:\n    return 1\n")
    assert cli(seg, "ctx", "build").returncode == 0
    (seg / "x.py").write_text("def x_function_v2() -> int:\n    return 2\n")

    killed = cli(seg, "ctx", command, env={"TRIFECTA_FAULT_KILL_AT": step})
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)

    # The previous pack (or, past the index commit, the new one) serves, as a pair.
    assert len(_serves(seg)) == 1
    rebuilt = cli(seg, "ctx", "build")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _temp_files(seg) == []
    assert _serves(seg) == {"x_function_v2"}


def test_temporary_files_of_killed_builds_do_not_pile_up(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    for step in ("pack-written", "index-written"):
        (seg / "x.py").write_text(f"def x_function() -> int:\n    return {len(step)}\n")
        killed = cli(seg, "ctx", "build", env={"TRIFECTA_FAULT_KILL_AT": step})
        assert killed.returncode == -signal.SIGKILL
    assert _temp_files(seg)  # the kills left their temporary files behind ...
    assert cli(seg, "ctx", "sync").returncode == 0
    assert _temp_files(seg) == []  # ... and the next build removed them
