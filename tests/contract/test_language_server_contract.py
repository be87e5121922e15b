"""The ``LanguageServer`` contract, run against the fake, the real pyright, and the warm
server's client (so the three cannot drift)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeLanguageServer
from tests.integration.test_pyright_adapter import READY_WAIT_MS, REQUEST_WAIT_MS, write_project
from trifecta.adapters.lsp_daemon.client import DaemonLanguageServer
from trifecta.adapters.lsp_daemon.server import LspDaemon
from trifecta.adapters.pyright.server import PyrightLanguageServer
from trifecta.adapters.system.clock import SystemClock
from trifecta.domain.errors import (
    LanguageServerCold,
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerTimeout,
)
from trifecta.domain.model import SymbolLocation
from trifecta.domain.ports import LanguageServer

# The fixture project (tests/integration/test_pyright_adapter.py): `helper` used at
# pkg/use.py 3:9 is defined at pkg/mod.py 9:5; pkg/mod.py holds Greeter and Greeter.greet.
USE = ("pkg/use.py", 3, 9)
DEF = ("pkg/mod.py", 9, 5)


def fake(root: Path) -> tuple[LanguageServer, Callable[[], None]]:
    server = FakeLanguageServer(
        definitions={USE: [SymbolLocation(*DEF, 9)]},
        symbols={
            "pkg/mod.py": [
                SymbolLocation("pkg/mod.py", 4, 7, 6, "class", "Greeter"),
                SymbolLocation("pkg/mod.py", 5, 9, 6, "method", "Greeter.greet"),
            ]
        },
    )
    return server, lambda: None


def pyright(root: Path) -> tuple[LanguageServer, Callable[[], None]]:
    server = PyrightLanguageServer(root, SystemClock())
    return server, server.shutdown


def warm(root: Path) -> tuple[LanguageServer, Callable[[], None]]:
    """A real warm server in a thread of this process, and the socket client."""

    daemon = LspDaemon(root, PyrightLanguageServer(root, SystemClock()), SystemClock(), 60)
    daemon.acquire()
    # the daemon spawns pyright from its serving thread; it lives as long as that thread
    thread = threading.Thread(target=daemon.serve, daemon=True)
    thread.start()
    client = DaemonLanguageServer(root, SystemClock(), autostart=False)

    def stop() -> None:
        daemon.request_stop()  # (stop_server would signal its pid: this very process)
        thread.join(15)

    return client, stop


@pytest.fixture(params=[fake, pyright, warm], ids=["fake", "pyright", "warm-server"])
def server(request: Any, tmp_path: Path) -> Iterator[LanguageServer]:
    root = write_project(tmp_path / "seg")
    lsp, stop = request.param(root)
    yield lsp
    lsp.shutdown()
    stop()


def started(server: LanguageServer) -> LanguageServer:
    deadline_ms = READY_WAIT_MS
    # a warm server still coming up: none yet (cold), or busy starting pyright (timeout)
    with contextlib.suppress(LanguageServerCold, LanguageServerTimeout):
        server.start()
    assert server.wait_ready(deadline_ms)
    return server


def test_start_reports_lifecycle_facts(server: LanguageServer) -> None:
    facts = started(server).facts()
    assert facts.spawned and facts.initialized
    assert facts.scan_done or facts.ready_via is not None


def test_definition_answers_segment_relative_1_based(server: LanguageServer) -> None:
    found = started(server).definition(*USE, REQUEST_WAIT_MS)
    assert [(f.path, f.line, f.column) for f in found] == [DEF]
    assert started(server).facts().ready_via is not None


def test_document_symbols_carry_qualified_names(server: LanguageServer) -> None:
    symbols = {
        s.qualname: s for s in started(server).document_symbols("pkg/mod.py", REQUEST_WAIT_MS)
    }
    assert (symbols["Greeter.greet"].line, symbols["Greeter.greet"].column) == (5, 9)
    assert symbols["Greeter"].kind == "class"


def test_requests_after_shutdown_fail_as_language_server_errors(server: LanguageServer) -> None:
    started(server).shutdown()
    if isinstance(server, DaemonLanguageServer):
        return  # the client's shutdown leaves the warm server running, by design
    with pytest.raises(LanguageServerError):
        server.definition(*USE, 1_000)


def test_warm_server_replaces_a_hung_language_server(tmp_path: Path) -> None:
    """Three timeouts in a row: the warm server shuts the language server down, and the
    next start spawns a fresh one (here a fake that times out, then recovers)."""

    root = write_project(tmp_path / "seg")
    hung = FakeLanguageServer(definitions={USE: [SymbolLocation(*DEF, 9)]}, behaviour="timeout")
    daemon = LspDaemon(root, hung, SystemClock(), 60)
    daemon.acquire()
    thread = threading.Thread(target=daemon.serve, daemon=True)
    thread.start()
    client = DaemonLanguageServer(root, SystemClock(), autostart=False)
    try:
        client.start()
        for _ in range(3):
            with pytest.raises(LanguageServerError):
                client.definition(*USE, 100)
        assert hung.stopped and daemon.restarts == 1
        hung.behaviour = "ok"
        client.start()
        assert not hung.stopped  # started again
        assert [(f.path, f.line) for f in client.definition(*USE, 1_000)] == [DEF[:2]]
    finally:
        client.close()
        daemon.request_stop()
        thread.join(15)


def test_warm_server_answers_a_crash_at_once_and_respawns_behind(tmp_path: Path) -> None:
    """A dead language server: the call that finds it gets ``LanguageServerCrashed`` (the
    caller falls back) instead of waiting for a respawn; the warm server counts a restart,
    starts a new one after answering, and the next call is served by it."""

    root = write_project(tmp_path / "seg")
    fake = FakeLanguageServer(definitions={USE: [SymbolLocation(*DEF, 9)]})
    daemon = LspDaemon(root, fake, SystemClock(), 60)
    daemon.acquire()
    thread = threading.Thread(target=daemon.serve, daemon=True)
    thread.start()
    try:
        client = DaemonLanguageServer(root, SystemClock(), autostart=False)
        client.start()
        assert client.definition(*USE, 1_000)
        fake.dead = True  # kill -9 of the language server
        with pytest.raises(LanguageServerCrashed):
            client.start()
        assert daemon.restarts == 1
        deadline = time.monotonic() + 15
        while fake.spawns < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake.spawns == 2 and not fake.crashed()
        client.start()
        assert [(f.path, f.line) for f in client.definition(*USE, 1_000)] == [DEF[:2]]
        assert client.status() is not None and client.status()["restarts"] == 1  # type: ignore[index]
        client.close()
    finally:
        daemon.request_stop()
        thread.join(15)
