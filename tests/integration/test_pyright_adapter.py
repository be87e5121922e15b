"""The real ``PyrightLanguageServer``: lifecycle, READY, definitions, symbols, crashes,
a missing binary, and no process left behind. Fails (never skips) without pyright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from trifecta.adapters.pyright.process import find_executable, group_members
from trifecta.adapters.pyright.server import PyrightLanguageServer
from trifecta.adapters.system.clock import SystemClock
from trifecta.domain.errors import LanguageServerCrashed, LanguageServerUnavailable

READY_WAIT_MS = 60_000  # 2 shared cores: generous waits in tests, 500 ms in the product
REQUEST_WAIT_MS = 60_000  # a first definition can take seconds under load

FIXTURE = {
    "pkg/__init__.py": "",
    "pkg/mod.py": textwrap.dedent(
        """\
        import os


        class Greeter:
            def greet(self, name: str) -> str:
                return helper(name)


        def helper(x: str) -> str:
            return os.path.join(x, "a")


        greeting = Greeter().greet("x")
        """
    ),
    "pkg/use.py": "from pkg.mod import Greeter, helper\n\nvalue = helper('a')\n",
}


def write_project(root: Path, files: Mapping[str, str] = FIXTURE) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "seg")


@pytest.fixture
def server(project: Path) -> Iterator[PyrightLanguageServer]:
    lsp = PyrightLanguageServer(project, SystemClock())
    yield lsp
    lsp.shutdown()


def test_pyright_is_installed_next_to_the_interpreter() -> None:
    assert find_executable("pyright-langserver") is not None, 'install "pyright[nodejs]"'


def test_lsp_lifecycle_spawn_initialize_ready_definition(server: PyrightLanguageServer) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    server.start(lambda name, fields: events.append((name, dict(fields))))
    assert [e[0] for e in events] == ["lsp.spawn", "lsp.initialize"]
    assert server.wait_ready(READY_WAIT_MS)
    assert server.facts().scan_done
    # pkg/use.py line 3 `value = helper('a')`: helper at column 9
    locations = server.definition("pkg/use.py", 3, 9, REQUEST_WAIT_MS)
    assert [(loc.path, loc.line, loc.column) for loc in locations] == [("pkg/mod.py", 9, 5)]
    names = [e[0] for e in events]
    assert names == ["lsp.spawn", "lsp.initialize", "lsp.ready"]
    ready = events[-1][1]
    assert ready["ready_via"] == "definition" and ready["cumulative_ms"] > 0
    server.definition("pkg/use.py", 3, 9, REQUEST_WAIT_MS)
    assert [e[0] for e in events].count("lsp.ready") == 1  # emitted once


def test_document_symbols_are_hierarchical_qualnames(server: PyrightLanguageServer) -> None:
    server.start()
    assert server.wait_ready(READY_WAIT_MS)
    symbols = {s.qualname: s for s in server.document_symbols("pkg/mod.py", REQUEST_WAIT_MS)}
    assert (symbols["Greeter"].line, symbols["Greeter"].column) == (4, 7)
    assert symbols["Greeter.greet"].kind == "method"
    assert (symbols["Greeter.greet"].line, symbols["Greeter.greet"].column) == (5, 9)
    assert symbols["helper"].kind == "function"


def test_definition_outside_the_segment_is_external(server: PyrightLanguageServer) -> None:
    server.start()
    assert server.wait_ready(READY_WAIT_MS)
    # `os` in `os.path.join` resolves into typeshed, outside the segment: an external
    # answer naming the module, never an absolute path
    found = server.definition("pkg/mod.py", 10, 12, REQUEST_WAIT_MS)
    assert {(f.external, f.module, f.kind, f.path) for f in found} == {(True, "os", "module", "")}
    # `join` in the same call: a function of posixpath (its overloads listed one by one here;
    # the use case collapses them), by its qualified name
    joins = server.definition("pkg/mod.py", 10, 20, REQUEST_WAIT_MS)
    assert {(j.external, j.qualname, j.path, j.module) for j in joins} == {
        (True, "join", "", "posixpath")
    }


def test_missing_binary_is_unavailable(project: Path) -> None:
    lsp = PyrightLanguageServer(project, SystemClock(), command=[str(project / "nope"), "--stdio"])
    with pytest.raises(LanguageServerUnavailable):
        lsp.start()
    lsp.shutdown()


def test_killed_server_is_reported_then_replaced(server: PyrightLanguageServer) -> None:
    server.start()
    assert server.wait_ready(READY_WAIT_MS)
    pid = server.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    time.sleep(0.3)
    with pytest.raises(LanguageServerCrashed):
        server.definition("pkg/use.py", 3, 9, 2_000)
    server.start()  # recovery: a dead session is replaced by a fresh process
    assert server.pid() != pid
    assert server.wait_ready(READY_WAIT_MS)
    assert server.definition("pkg/use.py", 3, 9, REQUEST_WAIT_MS)[0].line == 9
    assert server.spawn_count == 2


def test_shutdown_leaves_no_process_of_the_group(server: PyrightLanguageServer) -> None:
    server.start()
    pid = server.pid()
    assert pid is not None and group_members(pid)
    server.shutdown()
    assert group_members(pid) == []
    server.shutdown()  # idempotent


CHILD = """
import os, signal, sys
from pathlib import Path
from trifecta.adapters.pyright.server import PyrightLanguageServer
from trifecta.adapters.system.clock import SystemClock
lsp = PyrightLanguageServer(Path(sys.argv[1]), SystemClock())
lsp.start()
print(lsp.pid(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_no_language_server_survives_a_sigkilled_parent(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    pgid = int(proc.stdout.strip())
    deadline = time.monotonic() + 15
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_members(pgid) == []
