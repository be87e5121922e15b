"""A full disk (a tiny tmpfs over ``_ctx``, in a mount namespace of the test's own): the
documented one-line errors, the previous pack kept, no torn line in ``events.jsonl``."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.fault.helpers import COMMAND_TIMEOUT_S, assert_clean, cli, make_segment

FILL = (
    # every free page of the tmpfs taken (dd stops at ENOSPC)
    "dd if=/dev/zero of={ctx}/filler bs=4096 2>/dev/null; "
    "dd if=/dev/zero of={ctx}/filler2 bs=1 2>/dev/null; "
)


def full_disk_cli(seg: Path, *args: str, prepare: str = "") -> subprocess.CompletedProcess[str]:
    """The CLI with ``seg/_ctx`` moved onto a 256 KiB tmpfs that is then filled up; the
    mount lives and dies with the process (a private mount namespace)."""

    ctx = shlex.quote(str(seg / "_ctx"))
    keep = shlex.quote(str(seg / "_ctx_copy"))
    command = " ".join(
        shlex.quote(a) for a in (sys.executable, "-m", "trifecta", "--segment", str(seg), *args)
    )
    script = (
        f"cp -a {ctx} {keep} && mount -t tmpfs -o size=256k tmpfs {ctx} && "
        f"cp -a {keep}/. {ctx}/ && rm -rf {keep} && {prepare.format(ctx=ctx)}"
        f"{FILL.format(ctx=ctx)} {command}; "
        f"rc=$?; tail -c 1 {ctx}/telemetry/events.jsonl | od -An -c > {ctx}/../last_byte.txt; "
        "exit $rc"
    )
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=COMMAND_TIMEOUT_S,
        cwd=seg,
        env={**os.environ, "TRIFECTA_TELEMETRY": "full"},
    )


def test_a_build_on_a_full_disk_fails_in_one_line_and_keeps_the_pack(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    for i in range(40):  # enough source that the new index cannot fit
        (seg / f"big_{i}.py").write_text(f"def function_{i}():\n    return {i}\n" * 200)
    for command in ("build", "sync"):
        proc = full_disk_cli(seg, "ctx", command)
        assert_clean(proc)
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        errors = [line for line in proc.stderr.splitlines() if "error" in line]
        assert len(errors) == 1, proc.stderr
        assert "could not write the" in errors[0] and "no space left" in errors[0]
        search = full_disk_cli(seg, "ctx", "search", "-q", "helper", "--json")
        assert search.returncode == 0, search.stderr
        assert json.loads(search.stdout)["hits"][0]["path"] == "pkg/mod.py"


def test_a_telemetry_line_cut_short_by_a_full_disk_is_removed(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    events = seg / "_ctx" / "telemetry" / "events.jsonl"
    line = events.read_text().splitlines()[0] + "\n"
    # events.jsonl ends 40 bytes short of a page boundary: the next event fits only in part.
    lines, rest = divmod(4096 - 40, len(line))
    padded = line * lines + "#" * (rest - 1) + "\n"
    events.write_text(padded)
    proc = full_disk_cli(seg, "ctx", "search", "-q", "helper")
    assert_clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert "telemetry disabled" in proc.stderr
    assert (seg / "last_byte.txt").read_text().split() == ["\\n"]
