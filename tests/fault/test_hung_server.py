"""A warm server frozen by SIGSTOP: calls fall back within their deadline, ``lsp status``
says it does not answer, ``lsp stop`` kills it and its pyright."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault.helpers import assert_clean, cli, wait_for
from tests.integration.test_pyright_adapter import write_project
from trifecta.adapters.pyright.process import group_members

PATIENT_ENV = {"TRIFECTA_LSP_READY_TIMEOUT_MS": "60000"}
# A resolve's default deadline is 500 ms; the interpreter's start-up on a loaded 2-core
# machine takes up to a few seconds more. A hang is the 17 s this bound catches.
RESOLVE_BOUND_S = 6.0


def _children_groups(pid: int) -> set[int]:
    groups = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            data = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if int(fields[1]) == pid:
            groups.add(int(fields[2]))
    return groups


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    seg = write_project(tmp_path / "seg")
    started = cli(seg, "lsp", "start", "--json", env=PATIENT_ENV, timeout=120)
    assert started.returncode == 0, started.stderr
    pid = int((seg / "_ctx" / "lsp.pid").read_text())
    try:
        yield seg, pid
    finally:  # whatever the test did, the frozen server goes (pyright follows it)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.pyright
def test_a_stopped_warm_server_never_makes_a_call_hang(warm: tuple[Path, int]) -> None:
    seg, pid = warm
    pyright_groups = _children_groups(pid)
    assert pyright_groups  # pyright runs under the warm server
    os.kill(pid, signal.SIGSTOP)

    started = time.monotonic()
    proc = cli(seg, "ast", "resolve", "pkg.mod:helper", "--json")
    elapsed = time.monotonic() - started
    assert_clean(proc)
    answer = json.loads(proc.stdout)
    assert answer["resolved"] is True
    assert answer["resolved_by"] != "lsp"
    assert answer["fallback_reason"] == "lsp_timeout"
    assert elapsed < RESOLVE_BOUND_S

    status = cli(seg, "lsp", "status", "--json")
    assert_clean(status)
    reported = json.loads(status.stdout)
    assert reported["running"] is True
    assert reported["status"] == {"pid": pid, "answering": False, "state": "stopped"}
    assert "not answering" in cli(seg, "lsp", "status").stdout

    stop = cli(seg, "lsp", "stop", "--json")
    assert_clean(stop)
    assert json.loads(stop.stdout) == {"stopped": True}
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 10, "the server")
    wait_for(lambda: not any(group_members(g) for g in pyright_groups), 10, "pyright")


def _zombie(pid: int) -> bool:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return data[data.rfind(b")") + 2 :].split()[0] == b"Z"
