"""The search server (``ctx serve``) with real processes: the CLI's answer through it is
the one the CLI gives alone, it stays fresh, it declines what it could answer differently,
and no failure of it costs a call more than its own answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli

SERVED = {"TRIFECTA_SEARCH_SERVER": "auto"}
LOCAL = {"TRIFECTA_SEARCH_SERVER": "off"}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRIFECTA_")}
    return {**base, **(extra or {})}


def _wait(condition: object, what: str, deadline_s: float = 30.0) -> None:
    assert callable(condition)
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def _status(segment: Path) -> dict[str, object] | None:
    proc = run_cli(segment, "ctx", "serve", "--status", "--json", env=SERVED)
    status = json.loads(proc.stdout)["status"]
    assert status is None or isinstance(status, dict)
    return status


def _served_calls(segment: Path) -> int:
    status = _status(segment)
    assert status is not None, "no search server"
    calls = status["requests"]
    assert isinstance(calls, int)
    return calls


def _start(segment: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "trifecta", "--segment", str(segment), "ctx", "serve", *extra],
        env=_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait(lambda: proc.poll() is not None or _status(segment) is not None, "the server")
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def built(py_segment: Path) -> Path:
    run_cli(py_segment, "ctx", "build")
    return py_segment


@pytest.fixture
def server(built: Path) -> Iterator[subprocess.Popen[str]]:
    proc = _start(built, "--idle-timeout-s", "120")
    try:
        yield proc
    finally:
        _stop(proc)


def test_served_answers_equal_local_answers(built: Path, server: subprocess.Popen[str]) -> None:
    calls = [
        ("ctx", "search", "resolve segment state"),
        ("ctx", "search", "-q", "ContextService", "--json"),
        ("ctx", "search", "ContextService", "--files", "-l", "3"),
        ("ctx", "search", "nothingmatchesthis"),
        ("ctx", "get", "pkg/service.py#ContextService", "--mode", "raw"),
        ("ctx", "get", "pkg/service.py#ContextService", "--json", "--pd-report"),
        ("ctx", "get", "no/such.py#Thing"),
    ]
    before = _served_calls(built)
    for args in calls:
        served = run_cli(built, *args, env=SERVED, check=False)
        local = run_cli(built, *args, env=LOCAL, check=False)
        assert (served.returncode, served.stdout, served.stderr) == (
            local.returncode,
            local.stdout,
            local.stderr,
        ), args
        assert "Traceback" not in served.stderr
    assert _served_calls(built) == before + len(calls)


def test_served_from_a_subdirectory_without_segment_flag(
    built: Path, server: subprocess.Popen[str]
) -> None:
    before = _served_calls(built)
    proc = run_cli(None, "ctx", "search", "make_service", env=SERVED, cwd=built / "pkg")
    assert "pkg/service.py#make_service" in proc.stdout
    assert _served_calls(built) == before + 1


def test_a_change_is_seen_at_once(built: Path, server: subprocess.Popen[str]) -> None:
    before = _served_calls(built)
    fresh = json.loads(run_cli(built, "ctx", "search", "service", "--json", env=SERVED).stdout)
    assert fresh["stale"] is False
    (built / "pkg" / "service.py").write_text("def replaced_everything():\n    return 1\n")
    (built / "pkg" / "new_module.py").write_text("def brand_new():\n    return 2\n")
    stale = json.loads(run_cli(built, "ctx", "search", "service", "--json", env=SERVED).stdout)
    assert stale["stale"] is True
    assert stale["freshness"]["changed"] == ["pkg/service.py"]
    assert stale["freshness"]["new"] == ["pkg/new_module.py"]
    assert _served_calls(built) == before + 2


def test_a_rebuilt_pack_is_served(built: Path, server: subprocess.Popen[str]) -> None:
    (built / "pkg" / "later.py").write_text("def added_after_the_server():\n    return 3\n")
    run_cli(built, "ctx", "build", env=LOCAL)
    before = _served_calls(built)
    proc = run_cli(built, "ctx", "search", "added_after_the_server", env=SERVED)
    assert "pkg/later.py#added_after_the_server" in proc.stdout
    assert _served_calls(built) == before + 1


def test_other_settings_are_declined_and_answered_here(
    built: Path, server: subprocess.Popen[str]
) -> None:
    before = _status(built)
    assert before is not None
    env = {**SERVED, "TRIFECTA_SEARCH_LIMIT": "1"}
    proc = run_cli(built, "ctx", "search", "service", "--json", env=env)
    assert len(json.loads(proc.stdout)["hits"]) == 1  # the client's own setting
    flagged = run_cli(built, "--telemetry", "off", "ctx", "search", "service", env=SERVED)
    assert flagged.returncode == 0
    after = _status(built)
    assert after is not None
    assert after["requests"] == before["requests"]
    declined_before, declined_after = before["declined"], after["declined"]
    assert isinstance(declined_before, int)
    assert declined_after == declined_before + 2


def test_a_killed_server_costs_nothing(built: Path) -> None:
    proc = _start(built, "--idle-timeout-s", "120")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert (built / "_ctx" / "ctx.sock").exists()  # left behind: nobody listens
    start = time.monotonic()
    answer = run_cli(built, "ctx", "search", "make_service", env=SERVED)
    assert "pkg/service.py#make_service" in answer.stdout
    assert time.monotonic() - start < 20
    again = _start(built, "--idle-timeout-s", "120")  # replaces the stale socket
    try:
        assert _status(built) is not None
    finally:
        _stop(again)


def test_a_killed_servers_socket_neither_blocks_a_launch_nor_survives_stop(built: Path) -> None:
    sock = built / "_ctx" / "ctx.sock"
    proc = _start(built, "--idle-timeout-s", "120")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    stopped = run_cli(built, "ctx", "serve", "--stop", "--json", env=SERVED)
    assert json.loads(stopped.stdout)["stopped"] is False
    assert not sock.exists()  # nobody held the lock: the dead server's file is gone
    proc = _start(built, "--idle-timeout-s", "120")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert sock.exists()
    env = {**SERVED, "TRIFECTA_SEARCH_SERVER_MIN_FILES": "10"}
    run_cli(built, "ctx", "search", "service", env=env)  # answered here, launches anew
    _wait(lambda: _status(built) is not None, "the relaunched server")
    run_cli(built, "ctx", "serve", "--stop", env=SERVED)
    _wait(lambda: not sock.exists(), "the server to stop")


def test_one_server_per_segment(built: Path, server: subprocess.Popen[str]) -> None:
    second = run_cli(built, "ctx", "serve", env=SERVED, check=False)
    assert second.returncode == 1
    assert second.stderr.strip().endswith("a search server already runs for this segment")
    assert "Traceback" not in second.stderr


def test_idle_timeout_and_stop_leave_nothing(built: Path) -> None:
    proc = _start(built, "--idle-timeout-s", "1")
    assert proc.wait(timeout=20) == 0
    assert not (built / "_ctx" / "ctx.sock").exists()
    proc = _start(built, "--idle-timeout-s", "120")
    stopped = run_cli(built, "ctx", "serve", "--stop", "--json", env=SERVED)
    assert json.loads(stopped.stdout) == {"stopped": True, "segment": str(built)}
    assert proc.wait(timeout=20) == 0
    assert not (built / "_ctx" / "ctx.sock").exists()
    none = run_cli(built, "ctx", "serve", "--status", "--json", env=SERVED)
    assert json.loads(none.stdout)["running"] is False


def test_search_starts_a_server_for_a_large_enough_segment(built: Path) -> None:
    small = run_cli(built, "ctx", "search", "service", env=SERVED)
    assert small.returncode == 0
    assert not (built / "_ctx" / "ctx.log").exists()  # a launch opens its log first
    env = {**SERVED, "TRIFECTA_SEARCH_SERVER_MIN_FILES": "10"}  # the segment has 15 files
    run_cli(built, "ctx", "search", "service", env=env)
    sock = built / "_ctx" / "ctx.sock"
    _wait(sock.exists, "the launched server")
    try:
        before = _served_calls(built)
        run_cli(built, "ctx", "search", "service", env=env)
        assert _served_calls(built) == before + 1
    finally:
        run_cli(built, "ctx", "serve", "--stop", env=SERVED)
        _wait(lambda: not sock.exists(), "the server to stop")


def test_off_stops_a_running_server(built: Path, server: subprocess.Popen[str]) -> None:
    (built / "_ctx" / "trifecta.toml").write_text('[search]\nserver = "off"\n')
    proc = run_cli(built, "ctx", "search", "service", env=SERVED)
    assert "pkg/service.py" in proc.stdout  # answered here
    assert server.wait(timeout=20) == 0


def test_a_wedged_server_costs_one_call_and_stop_ends_it(built: Path) -> None:
    proc = _start(built, "--idle-timeout-s", "120")
    try:
        proc.send_signal(signal.SIGSTOP)
        first = run_cli(built, "ctx", "search", "make_service", env=SERVED)
        assert "pkg/service.py#make_service" in first.stdout  # answered here, after the wait
        assert (built / "_ctx" / "ctx.hung").exists()
        start = time.monotonic()
        second = run_cli(built, "ctx", "search", "make_service", env=SERVED)
        assert "pkg/service.py#make_service" in second.stdout
        assert time.monotonic() - start < 8  # no wait for the wedged server this time
        stopped = run_cli(built, "ctx", "serve", "--stop", "--json", env=SERVED)
        assert json.loads(stopped.stdout)["stopped"] is True
        assert proc.wait(timeout=20) is not None
        assert not (built / "_ctx" / "ctx.sock").exists()
    finally:
        proc.send_signal(signal.SIGCONT)
        _stop(proc)


def test_stdout_and_stderr_keep_their_order_through_one_pipe(
    built: Path, server: subprocess.Popen[str]
) -> None:
    def combined(extra: dict[str, str]) -> str:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "trifecta",
                "-v",
                "--segment",
                str(built),
                "ctx",
                "search",
                "xq",
            ],
            env=_env(extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=True,
        )
        return proc.stdout

    before = _served_calls(built)
    served = combined(SERVED)
    assert served == combined(LOCAL)
    assert served.startswith("trifecta: segment:")  # --verbose's line comes first
    assert _served_calls(built) == before + 1


def test_debug_help_usage_and_environment_are_answered_here(
    built: Path, server: subprocess.Popen[str]
) -> None:
    before = _status(built)
    assert before is not None
    cases = [
        (("ctx", "get", "--deb", "no/such.py#X"), SERVED),  # --debug, abbreviated
        (("ctx", "search", "--hel"), SERVED),  # --help, abbreviated
        (("ctx", "search", "--limit", "abc"), SERVED),  # argparse's usage error
        (("ctx", "search", "service"), {**SERVED, "OTEL_SDK_DISABLED": "true"}),
        (("ctx", "search", "service"), {**SERVED, "TRIFECTA_SEARCH_SERVER_MIN_FILES": "x"}),
    ]
    for args, env in cases:
        served = run_cli(built, *args, env=env, check=False)
        local = run_cli(built, *args, env={**env, **LOCAL}, check=False)
        assert (served.returncode, served.stdout) == (local.returncode, local.stdout), args
    after = _status(built)
    assert after is not None  # still running
    assert after["requests"] == before["requests"]
    assert after["pid"] == before["pid"]


def test_a_changed_package_file_stops_the_server(built: Path) -> None:
    from trifecta.adapters.cli import main as cli_main
    from trifecta.adapters.cli.forward import IN_SERVER, _request
    from trifecta.adapters.cli.server import CtxServer

    server = CtxServer(built, 60)  # in this process: its code map can be edited
    try:
        server.acquire()
        request = _request(["ctx", "search", "service"], str(built))
        assert server.handle(request)["served"] is True
        some_file = next(iter(server._code))
        server._code[some_file] = (0, 0)  # as if it had changed on disk since the start
        answer = server.handle(request)
        assert answer["served"] is False
        assert "changed on disk" in answer["reason"]
        assert server.stop_reason == "code changed"
    finally:
        server.close()
        IN_SERVER[0] = False
        cli_main.PARSERS = None
    assert not (built / "_ctx" / "ctx.sock").exists()


def test_command_and_segment_are_found_as_the_parser_would() -> None:
    from trifecta.adapters.cli.forward import _command_at, _segment_arg, relevant_env

    assert _command_at(["ctx", "search", "x"]) == 0
    assert _command_at(["--json", "-s", "d", "--color", "never", "ctx", "get", "a"]) == 5
    assert _command_at(["--segment=d", "ctx", "search"]) == 1
    assert _command_at(["ctx", "build"]) is None
    assert _command_at(["ast", "ctx", "search"]) is None
    assert _command_at(["--weird", "ctx", "search"]) is None
    assert _segment_arg(["ctx", "search", "-s", "d"]) == "d"
    assert _segment_arg(["--segment=d", "ctx", "search"]) == "d"
    assert _segment_arg(["-sd", "ctx", "search"]) is False
    assert _segment_arg(["ctx", "search", "--segment"]) is False
    assert _segment_arg(["ctx", "search", "x"]) is None
    env = {"TRIFECTA_X": "1", "OTEL_Y": "2", "HOME": "/h", "PATH": "/bin", "NO_COLOR": "1"}
    assert relevant_env(env) == {"TRIFECTA_X": "1", "OTEL_Y": "2", "HOME": "/h", "NO_COLOR": "1"}


def _events(segment: Path, cmd: str) -> list[dict[str, object]]:
    log = segment / "_ctx" / "telemetry" / "events.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return [e for e in map(json.loads, lines) if e.get("cmd") == cmd]


def test_a_usage_error_is_recorded_once(built: Path, server: subprocess.Popen[str]) -> None:
    before = len(_events(built, "ctx.search"))
    proc = run_cli(built, "ctx", "search", "--limit", "abc", "x", env=SERVED, check=False)
    assert proc.returncode == 2
    assert len(_events(built, "ctx.search")) == before + 1


def test_an_answer_the_client_cannot_print_fails_as_it_would_there(
    built: Path, server: subprocess.Popen[str]
) -> None:
    (built / "pkg" / "accents.py").write_text('def caf\u00e9():\n    return "na\u00efve"\n')
    run_cli(built, "ctx", "build", env=LOCAL)
    before = _served_calls(built)
    gets = len(_events(built, "ctx.get"))
    ascii_out = {"PYTHONIOENCODING": "ascii"}
    args = ("ctx", "get", "pkg/accents.py#caf\u00e9", "--mode", "raw")
    served = run_cli(built, *args, env={**SERVED, **ascii_out}, check=False)
    local = run_cli(built, *args, env={**LOCAL, **ascii_out}, check=False)
    assert (served.returncode, served.stdout, served.stderr) == (
        local.returncode,
        local.stdout,
        local.stderr,
    )
    assert served.returncode == 1
    assert "Traceback" not in served.stderr
    assert _served_calls(built) == before + 1  # answered there, once
    assert len(_events(built, "ctx.get")) == gets + 2  # once served, once by the local run


def test_concurrent_clients_each_get_their_own_answer(
    built: Path, server: subprocess.Popen[str]
) -> None:
    queries = ["make_service", "ContextService", "resolve segment state", "use_3"]
    local = {q: run_cli(built, "ctx", "search", q, "--json", env=LOCAL).stdout for q in queries}
    before = _served_calls(built)
    procs = {
        q: subprocess.Popen(
            [sys.executable, "-m", "trifecta", "-s", str(built), "ctx", "search", q, "--json"],
            env=_env(SERVED),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for q in queries
    }
    for q, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert json.loads(out)["hits"] == json.loads(local[q])["hits"], q
    assert _served_calls(built) == before + len(queries)


def test_a_relative_segment_is_the_clients(built: Path, server: subprocess.Popen[str]) -> None:
    before = _served_calls(built)
    proc = run_cli(None, "-s", "seg", "ctx", "search", "make_service", env=SERVED, cwd=built.parent)
    assert "pkg/service.py#make_service" in proc.stdout
    assert _served_calls(built) == before + 1


def test_a_server_that_cannot_start_says_why_in_one_line(built: Path) -> None:
    (built / "_ctx" / "ctx.sock").mkdir()  # the socket's name is taken
    proc = run_cli(built, "ctx", "serve", "--idle-timeout-s", "5", env=SERVED, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "trifecta: error: cannot serve on _ctx/ctx.sock: Is a directory"
    ]
    assert "CannotServe" in (built / "_ctx" / "ctx.failed").read_text()
    env = {**SERVED, "TRIFECTA_SEARCH_SERVER_MIN_FILES": "10"}
    run_cli(built, "ctx", "search", "service", env=env)  # within the minute: no relaunch
    assert not (built / "_ctx" / "ctx.log").exists()
