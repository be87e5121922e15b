"""Shared fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.telemetry_leaks import scan


# ---- telemetry: every telemetry line a test writes is checked for leaks --------------------
@pytest.fixture(autouse=True)
def _no_telemetry_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    if "tmp_path" not in request.fixturenames:
        yield
        return
    base = request.getfixturevalue("tmp_path")
    yield
    problems = scan(base)
    assert not problems, "telemetry leaked a path or the user name:\n" + "\n".join(problems[:20])


# ---- symbols: no language-server process outlives the test run ---------------------------
MARKERS = (b"langserver", b"lsp\x00serve", b"ctx\x00serve")


def language_server_processes() -> set[int]:
    """Running (non-zombie) pyright/node/daemon processes of THIS venv (other checkouts on
    the machine run their own)."""

    prefix = sys.prefix.encode()
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        state = stat[stat.rfind(b")") + 2 :].split()[:1]
        if state == [b"Z"]:
            continue
        if prefix in cmdline and any(m in cmdline for m in MARKERS):
            found.add(int(name))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_orphan_language_servers() -> Iterator[None]:
    before = language_server_processes()
    yield
    deadline = time.monotonic() + 10
    left = language_server_processes() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = language_server_processes() - before
    assert not left, f"language-server processes survived the test run: {sorted(left)}"


# ---- the CLI in a subprocess, and a small segment --------------------------------------------
CliRunner = Callable[..., "subprocess.CompletedProcess[str]"]


def run_cli(
    segment: Path | str | None,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m trifecta [--segment SEGMENT] ARGS...`` (no ``--segment`` when None); with
    ``check`` (default) exit 0, no traceback. ``env`` adds to (and overrides) the
    environment; ``TRIFECTA_*`` variables of the caller are dropped so a test sees only
    what it sets; no search server is started or used unless ``env`` sets
    ``TRIFECTA_SEARCH_SERVER`` (``tests/integration/test_ctx_server.py``)."""

    base = {k: v for k, v in os.environ.items() if not k.startswith("TRIFECTA_")}
    base["TRIFECTA_SEARCH_SERVER"] = "off"
    seg = [] if segment is None else ["--segment", str(segment)]
    proc = subprocess.run(
        [sys.executable, "-m", "trifecta", *seg, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**base, **(env or {})},
        cwd=cwd,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture
def cli() -> CliRunner:
    """The CLI in a subprocess (``run_cli``)."""

    return run_cli


@pytest.fixture
def py_segment(tmp_path: Path) -> Path:
    """A small Python segment: a package with a class, a function and a README."""

    seg = tmp_path / "seg"
    (seg / "pkg").mkdir(parents=True)
    (seg / "pkg" / "__init__.py").write_text("")
    (seg / "pkg" / "service.py").write_text(
        '"""The context service."""\n\n\nclass ContextService:\n'
        '    """Builds context."""\n\n    def resolve_segment_state(self) -> str:\n'
        '        return "ok"\n\n\ndef make_service() -> ContextService:\n'
        "    return ContextService()\n"
    )
    for i in range(12):
        (seg / "pkg" / f"use_{i}.py").write_text(
            f"from pkg.service import make_service\n\n\ndef use_{i}():\n"
            f"    return make_service().resolve_segment_state()  # service {i}\n"
        )
    (seg / "README.md").write_text("# Demo\n\nThe service resolves segment state.\n")
    return seg
