"""The resolution use cases on the REAL pyright (in-process), real files, real skeletons:
the seed's lifecycle test, timeout -> fallback, missing binary, a crash and recovery."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeTelemetrySink
from tests.integration.test_pyright_adapter import READY_WAIT_MS, REQUEST_WAIT_MS, write_project
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.pyright.server import PyrightLanguageServer
from trifecta.adapters.system.clock import SystemClock
from trifecta.application.symbols.index import SymbolIndex
from trifecta.application.symbols.use_cases import ResolvePosition, ResolveSelector, SymbolRequest
from trifecta.application.telemetry.service import TelemetryService
from trifecta.bootstrap.skeletons import skeleton_reader


class Rig:
    def __init__(self, root: Path, command: list[str] | None = None) -> None:
        clock = SystemClock()
        self.sink = FakeTelemetrySink()
        self.telemetry = TelemetryService(self.sink, clock, "seg")
        reader = LocalFileReader(root)
        index = SymbolIndex(reader, skeleton_reader(reader))
        self.server = PyrightLanguageServer(root, clock, command=command)
        self.position = ResolvePosition(self.server, index, reader, self.telemetry, clock)
        self.selector = ResolveSelector(self.server, index, self.telemetry, clock)

    def cmds(self) -> list[str]:
        return [e["cmd"] for e in self.sink.events]

    def events(self, cmd: str) -> list[dict[str, Any]]:
        return [e for e in self.sink.events if e["cmd"] == cmd]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(write_project(tmp_path / "seg"))
    yield rig
    rig.server.shutdown()


def patient(query: str, **kw: Any) -> SymbolRequest:
    return SymbolRequest(
        query, timeout_ms=kw.pop("timeout_ms", REQUEST_WAIT_MS), ready_wait_ms=READY_WAIT_MS, **kw
    )


def test_lsp_lifecycle_complete(rig: Rig) -> None:
    res = rig.position.execute(patient("pkg/use.py:3:9"))
    assert (res.resolved_by, res.fallback_reason) == ("lsp", None)
    (match,) = res.matches
    assert (match.path, match.line, match.column) == ("pkg/mod.py", 9, 5)
    assert (match.kind, match.qualname, match.end_line) == ("function", "helper", 10)
    cmds = rig.cmds()
    order = [cmds.index(c) for c in ("lsp.spawn", "lsp.initialize", "lsp.ready", "lsp.definition")]
    assert order == sorted(order)
    (ready,) = rig.events("lsp.ready")
    assert ready["ready_via"] in ("definition", "diagnostics") and ready["cumulative_ms"] > 0
    (definition,) = rig.events("lsp.definition")
    assert definition["resolved"] is True and definition["file_path_rel"] == "pkg/mod.py"
    assert rig.telemetry.metrics["lsp_spawn_count"] == 1
    assert rig.telemetry.metrics["lsp_ready_count"] == 1
    assert "/" not in repr([e.get("file_path_rel", "") for e in rig.sink.events]).replace(
        "pkg/", ""
    )


def test_selectors_through_pyright_document_symbols(rig: Rig) -> None:
    res = rig.selector.execute(patient("sym://python/mod/pkg.mod#Greeter.greet"))
    assert res.resolved_by == "lsp"
    assert [(m.path, m.line, m.column) for m in res.matches] == [("pkg/mod.py", 5, 9)]
    missing = rig.selector.execute(patient("pkg.mod:Nope"))
    assert not missing.resolved and missing.fallback_reason == "lsp_empty"


def test_fallback_on_lsp_timeout(rig: Rig) -> None:
    rig.position.execute(patient("pkg/use.py:3:9"))  # warm and ready
    res = rig.position.execute(patient("pkg/use.py:3:9", timeout_ms=0))
    assert (res.resolved_by, res.fallback_reason) == ("ast", "lsp_timeout")
    assert [(m.path, m.line) for m in res.matches] == [("pkg/mod.py", 9)]
    (timeout,) = rig.events("lsp.timeout")
    assert timeout["request_type"] == "definition" and timeout["fallback_to"] == "tree_sitter"
    assert rig.telemetry.metrics["lsp_timeout_count"] == 1
    assert rig.telemetry.metrics["lsp_fallback_count"] == 1
    assert rig.telemetry.metrics["lsp_request_count"] == 2
    again = rig.position.execute(patient("pkg/use.py:3:9"))  # the session survives a cancel
    assert again.resolved_by == "lsp"


def test_missing_binary_falls_back(tmp_path: Path) -> None:
    root = write_project(tmp_path / "seg")
    rig = Rig(root, command=[str(tmp_path / "no-such-pyright"), "--stdio"])
    res = rig.position.execute(patient("pkg/use.py:3:9"))
    assert (res.resolved_by, res.fallback_reason) == ("ast", "lsp_unavailable")
    assert res.matches[0].line == 9
    rig.server.shutdown()


def test_killed_server_falls_back_then_recovers(rig: Rig) -> None:
    assert rig.position.execute(patient("pkg/use.py:3:9")).resolved_by == "lsp"
    pid = rig.server.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    time.sleep(0.3)
    # an impatient call: the dead session is replaced but not ready yet -> the fallback
    res = rig.position.execute(SymbolRequest("pkg/use.py:3:9", ready_wait_ms=0))
    assert res.resolved_by == "ast" and res.resolved
    assert res.fallback_reason in ("lsp_crashed", "lsp_not_ready")
    recovered = rig.position.execute(patient("pkg/use.py:3:9"))
    assert recovered.resolved_by == "lsp" and rig.server.pid() != pid
    assert rig.telemetry.metrics["lsp_spawn_count"] == 2
