"""The warm server as real processes, driven through the CLI: start/status/stop, cold
calls answered by the fallback while it starts, stale sockets, a killed server, idle exit,
and the JSON shape of ``ast resolve``/``ast definition``."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.integration.test_pyright_adapter import write_project
from trifecta.adapters.pyright.process import group_members

READY_WAIT_S = 60
SERVE = [sys.executable, "-m", "trifecta"]
# 2 shared cores under load: a first definition can take seconds. Calls that must be
# answered by pyright get a generous deadline; the product default stays 500 ms.
PATIENT = ("--timeout-ms", "60000")
ENV = {**os.environ, "TRIFECTA_LSP_READY_TIMEOUT_MS": "60000"}


def cli(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli(root, *args, check=False, env=ENV, timeout=timeout)


def resolve(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = cli(root, "ast", *args, "--json")
    assert proc.stdout, proc.stderr
    answer: dict[str, Any] = json.loads(proc.stdout)
    assert answer.pop("segment", str(root)) == str(root)  # every JSON object names it
    return proc.returncode, answer


def status(root: Path) -> dict[str, Any]:
    proc = cli(root, "lsp", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def wait_for(predicate: Any, timeout_s: float = READY_WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def segment(tmp_path: Path) -> Iterator[Path]:
    root = write_project(tmp_path / "seg")
    yield root
    cli(root, "lsp", "stop")
    assert wait_for(lambda: not status(root)["running"], 15)


def test_daemon_start_status_stop(segment: Path) -> None:
    assert status(segment)["running"] is False
    started = cli(segment, "lsp", "start", "--json")
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    assert info["running"] and info["status"]["facts"]["initialized"]
    sock = segment / "_ctx" / "lsp.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    code, answer = resolve(segment, "resolve", "pkg.mod:Greeter.greet", *PATIENT)
    assert code == 0
    assert answer == {
        "query": "sym://python/mod/pkg.mod#Greeter.greet",
        "resolved": True,
        "matches": [
            {
                "path": "pkg/mod.py",
                "line": 5,
                "column": 9,
                "end_line": 6,
                "kind": "method",
                "qualname": "Greeter.greet",
                "external": False,
                "module": None,
                "related_lines": [],
            }
        ],
        "resolved_by": "lsp",
        "fallback_reason": None,
        "ambiguous": False,
        "evidence": "lsp",
        "timing_ms": answer["timing_ms"],
    }
    code, answer = resolve(segment, "definition", "pkg/use.py:3:9", *PATIENT)
    assert code == 0 and answer["resolved_by"] == "lsp"
    assert answer["matches"][0]["qualname"] == "helper"
    pid = status(segment)["status"]["pid"]
    assert cli(segment, "lsp", "stop").returncode == 0
    assert status(segment)["running"] is False
    assert wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 15)
    assert not sock.exists()


def _zombie(pid: int) -> bool:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return data[data.rfind(b")") + 2 : data.rfind(b")") + 3] == b"Z"


def test_cold_call_answers_from_fallback_and_warms_the_next(segment: Path) -> None:
    code, cold = resolve(segment, "resolve", "pkg.mod:helper")
    assert code == 0
    assert (cold["resolved_by"], cold["fallback_reason"]) == ("ast", "lsp_cold")
    assert cold["matches"][0]["line"] == 9
    assert wait_for(lambda: status(segment)["running"])
    assert wait_for(
        lambda: resolve(segment, "resolve", "pkg.mod:helper", *PATIENT)[1]["resolved_by"] == "lsp"
    )


def test_no_lsp_and_no_autostart(segment: Path) -> None:
    code, answer = resolve(segment, "resolve", "pkg.mod:helper", "--no-lsp")
    assert code == 0 and answer["fallback_reason"] == "lsp_disabled"
    (segment / "_ctx").mkdir(exist_ok=True)
    (segment / "_ctx" / "trifecta.toml").write_text("[lsp]\nautostart = false\n")
    code, answer = resolve(segment, "resolve", "pkg.mod:helper")
    assert answer["fallback_reason"] == "lsp_cold"
    # A launch opens the server's log before the call returns: no log, no launch (no wait).
    assert not (segment / "_ctx" / "lsp.log").exists()
    assert status(segment)["running"] is False


def test_require_lsp_waits_for_the_warm_server(segment: Path) -> None:
    code, answer = resolve(segment, "definition", "pkg/use.py:3:9", "--require-lsp")
    assert code == 0, answer
    assert (answer["resolved_by"], answer["fallback_reason"]) == ("lsp", None)


def test_unresolved_and_malformed_exit_codes(segment: Path) -> None:
    code, answer = resolve(segment, "resolve", "pkg.mod:Nope", "--no-lsp")
    assert code == 1 and answer["resolved"] is False and answer["matches"] == []
    bad = cli(segment, "ast", "resolve", "pkg..mod")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    bad = cli(segment, "ast", "definition", "pkg/use.py:0:1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    missing = cli(segment, "ast", "definition", "nope.py:1:1")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    outside = cli(segment, "ast", "definition", "../x.py:1:1")
    assert outside.returncode == 1 and "outside" in outside.stderr


def test_stale_socket_is_replaced(segment: Path) -> None:
    state = segment / "_ctx"
    state.mkdir(exist_ok=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(state / "lsp.sock"))
    stale.close()  # the file stays, nobody listens: a dead server's leftover
    (state / "lsp.pid").write_text("999999\n")
    assert status(segment)["running"] is False
    _, answer = resolve(segment, "resolve", "pkg.mod:helper")
    assert answer["fallback_reason"] == "lsp_cold"
    assert wait_for(lambda: status(segment)["running"])


def test_killed_daemon_leaves_no_pyright_and_is_replaced(segment: Path) -> None:
    assert cli(segment, "lsp", "start").returncode == 0
    pid = status(segment)["status"]["pid"]
    before = _pyright_groups_of(pid)
    assert before, "the warm server runs a pyright process group"
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: all(not group_members(g) for g in before), 15)
    _, answer = resolve(segment, "resolve", "pkg.mod:helper")
    assert answer["resolved_by"] == "ast" and answer["fallback_reason"] == "lsp_cold"
    assert wait_for(lambda: status(segment)["running"])


def _pyright_groups_of(parent: int) -> list[int]:
    groups = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            data = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if int(fields[1]) == parent:
            groups.append(int(fields[2]))
    return groups


def test_idle_timeout_stops_the_server(tmp_path: Path) -> None:
    root = write_project(tmp_path / "seg")
    proc = subprocess.Popen(
        [*SERVE, "--segment", str(root), "lsp", "serve", "--idle-timeout-s", "2"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (root / "_ctx" / "lsp.sock").exists()


def test_second_server_for_a_segment_refuses(segment: Path) -> None:
    assert cli(segment, "lsp", "start").returncode == 0
    second = cli(segment, "lsp", "serve", timeout=60)
    assert second.returncode == 1 and "already runs" in second.stderr
    assert status(segment)["running"] is True


def test_long_segment_paths_still_get_a_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    root = write_project(deep / "seg")
    assert len(str(root / "_ctx" / "lsp.sock")) > 108  # over the AF_UNIX limit
    try:
        assert cli(root, "lsp", "start").returncode == 0
        assert status(root)["running"] is True
        code, answer = resolve(root, "resolve", "pkg.mod:helper", *PATIENT)
        assert code == 0 and answer["resolved_by"] == "lsp"
    finally:
        cli(root, "lsp", "stop")
    assert status(root)["running"] is False


def test_stop_without_a_server_says_so(tmp_path: Path) -> None:
    root = write_project(tmp_path / "seg")
    (root / "_ctx").mkdir()
    (root / "_ctx" / "lsp.pid").write_text("999999\n")
    proc = cli(root, "lsp", "stop", "--json")
    answer = json.loads(proc.stdout)
    assert proc.returncode == 0 and answer == {"stopped": False, "segment": str(root)}


def test_cli_records_command_and_resolution_events(segment: Path) -> None:
    code, _ = resolve(segment, "resolve", "pkg.mod:Greeter.greet", "--no-lsp")
    assert code == 0
    lines = (segment / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    command = [e for e in events if e["cmd"] == "ast.resolve"]
    resolution = [e for e in events if e["cmd"] == "selector.resolve"]
    assert len(command) == 1 and command[0]["tokens"] > 0
    assert resolution[0]["symbol_query"] == "sym://python/mod/pkg.mod#Greeter.greet"
    assert resolution[0]["resolved"] is True and resolution[0]["matches_count"] == 1
    assert resolution[0]["fallback_reason"] == "lsp_disabled"
    assert str(segment) not in "\n".join(lines)


def test_broken_and_binary_files(segment: Path) -> None:
    (segment / "pkg" / "broken.py").write_text(
        "class Half:\n    def ok(self):\n        return 1\n\ndef oops(:\n"
    )
    code, answer = resolve(segment, "resolve", "pkg.broken:Half.ok", "--no-lsp")
    assert code == 0 and answer["matches"][0]["line"] == 2  # the tolerant parser's answer
    (segment / "pkg" / "blob.py").write_bytes(b"\x00\x01binary")
    proc = cli(segment, "ast", "definition", "pkg/blob.py:1:1", "--no-lsp")
    assert proc.returncode == 1 and "binary" in proc.stderr and "Traceback" not in proc.stderr


def test_fallback_answers_a_parameter_with_its_binding(segment: Path) -> None:
    (segment / "pkg" / "other.py").write_text("def name():\n    return 1\n")
    code, answer = resolve(segment, "definition", "pkg/mod.py:6:23", "--no-lsp")
    assert code == 0 and answer["ambiguous"] is False
    assert [(m["path"], m["line"], m["column"], m["kind"]) for m in answer["matches"]] == [
        ("pkg/mod.py", 5, 21, "parameter")
    ]


# ---- pyright missing: the real code path, with an interpreter outside the venv -----------


def venvless_cli(root: Path, *args: str, mode: str = "daemon") -> subprocess.CompletedProcess[str]:
    """The CLI run by the base interpreter (not the venv's) with the venv's packages on
    PYTHONPATH and a PATH without the venv: ``pyright-langserver`` is found neither next
    to ``sys.executable`` nor on PATH, exactly as on a machine without pyright."""

    import site

    repo = Path(__file__).resolve().parents[2]
    base = getattr(sys, "_base_executable", sys.executable)
    assert Path(base).parent != Path(sys.executable).parent, "run the tests from a venv"
    env = {
        **ENV,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([*site.getsitepackages(), str(repo)]),
        "TRIFECTA_LSP_MODE": mode,
    }
    return subprocess.run(
        [base, "-m", "trifecta", "--segment", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _processes_for(root: Path) -> list[str]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(root) in cmd and not _zombie(int(name)):
            found.append(cmd)
    return found


def test_lsp_start_without_pyright_fails_and_leaves_nothing(tmp_path: Path) -> None:
    root = write_project(tmp_path / "seg")
    started = venvless_cli(root, "lsp", "start", "--json")
    assert started.returncode == 1
    answer = json.loads(started.stdout)
    assert answer["running"] is False and answer["status"] is None
    assert "pyright-langserver not found" in answer["error"]["message"]
    assert len(started.stderr.strip().splitlines()) == 1 and "Traceback" not in started.stderr
    assert wait_for(lambda: not _processes_for(root), 15), _processes_for(root)
    assert not (root / "_ctx" / "lsp.sock").exists()
    # the next calls answer from the fallback, saying why, and launch nothing
    proc = venvless_cli(root, "ast", "definition", "pkg/use.py:3:9", "--json")
    code, where = proc.returncode, json.loads(proc.stdout)
    assert code == 0 and (where["resolved_by"], where["fallback_reason"]) == (
        "ast",
        "lsp_unavailable",
    )
    assert where["matches"][0]["line"] == 9
    assert wait_for(lambda: not _processes_for(root), 10)


def test_cold_call_without_pyright_then_unavailable(tmp_path: Path) -> None:
    root = write_project(tmp_path / "seg")
    proc = venvless_cli(root, "ast", "definition", "pkg/use.py:3:9", "--json")
    assert json.loads(proc.stdout)["fallback_reason"] == "lsp_cold"  # one launch, which fails
    assert wait_for(lambda: (root / "_ctx" / "lsp.failed").exists() and not _processes_for(root))
    proc = venvless_cli(root, "ast", "definition", "pkg/use.py:3:9", "--json")
    assert json.loads(proc.stdout)["fallback_reason"] == "lsp_unavailable"
    assert "not found" in (root / "_ctx" / "lsp.log").read_text()
    assert wait_for(lambda: not _processes_for(root), 10)


def test_in_process_mode_without_pyright_falls_back(tmp_path: Path) -> None:
    root = write_project(tmp_path / "seg")
    proc = venvless_cli(root, "ast", "resolve", "pkg.mod:helper", "--json", mode="process")
    answer = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert (answer["resolved_by"], answer["fallback_reason"]) == ("ast", "lsp_unavailable")
    assert answer["matches"][0]["line"] == 9
    assert not _processes_for(root)


def test_require_lsp_without_server_or_autostart_fails_at_once(segment: Path) -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [*SERVE, "--segment", str(segment), "ast", "definition", "pkg/use.py:3:9", "--require-lsp"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**ENV, "TRIFECTA_LSP_AUTOSTART": "false"},
    )
    assert time.monotonic() - start < 8  # not the 60 s ready wait of ENV
    assert proc.returncode == 1 and "run `trifecta lsp start`" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not proc.stdout
    assert status(segment)["running"] is False


def test_killed_pyright_falls_back_at_once_then_the_respawn_answers(segment: Path) -> None:
    assert cli(segment, "lsp", "start").returncode == 0
    code, answer = resolve(segment, "definition", "pkg/use.py:3:9", *PATIENT)
    assert code == 0 and answer["resolved_by"] == "lsp"
    pid = status(segment)["status"]["pid"]
    (group,) = _pyright_groups_of(pid)
    os.killpg(group, signal.SIGKILL)  # pyright (node) dies under a live warm server
    time.sleep(0.5)
    code, answer = resolve(segment, "definition", "pkg/use.py:3:9", *PATIENT)
    assert code == 0 and answer["matches"][0]["line"] == 9
    assert (answer["resolved_by"], answer["fallback_reason"]) == ("ast", "lsp_crashed")
    assert status(segment)["status"]["restarts"] == 1
    code, answer = resolve(segment, "definition", "pkg/use.py:3:9", *PATIENT)
    assert code == 0 and answer["resolved_by"] == "lsp"  # the new pyright, ready
    assert status(segment)["status"]["pid"] == pid  # the same warm server
    assert _pyright_groups_of(pid) != [group]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("definition", "pkg/use.py:9999:1"), "line 9999 is past the end of pkg/use.py (3 lines)"),
        (
            ("definition", "pkg/use.py:3:999"),
            "column 999 is past the end of line 3 of pkg/use.py (19 characters)",
        ),
        (("definition", "README.md:1:1"), "README.md is not a Python file"),
        (("resolve", "pkg.nope:X"), "module pkg.nope not found in the segment"),
    ],
)
def test_impossible_queries_are_refused_without_asking_pyright(
    segment: Path, args: tuple[str, str], message: str
) -> None:
    (segment / "README.md").write_text("# readme\n")
    proc = cli(segment, "ast", *args, "--json")
    assert proc.returncode == 1 and json.loads(proc.stdout)["error"]["message"] == message
    assert proc.stderr.strip().splitlines() == [f"trifecta: error: {message}"]
    assert status(segment)["running"] is False  # no warm server launched for it


@pytest.mark.parametrize(
    ("facts", "state"),
    [
        ({}, "starting"),
        ({"initialized": True}, "initialized, scanning the workspace"),
        ({"initialized": True, "scan_done": True}, "scanned (ready after the first definition)"),
        (
            {"initialized": True, "scan_done": True, "ready_via": "definition"},
            "ready (via definition)",
        ),
        ({"initialized": True, "ready_via": "diagnostics"}, "ready (via diagnostics)"),
    ],
)
def test_status_text_follows_the_ready_definition(facts: dict[str, Any], state: str) -> None:
    from trifecta.adapters.cli.commands.lsp import _describe, lsp_state

    assert lsp_state(facts) == state
    status = {"pid": 1, "uptime_s": 1.0, "idle_s": 0.0, "idle_timeout_s": 600, "requests": 0}
    assert f", {state}, " in _describe({**status, "facts": facts})
