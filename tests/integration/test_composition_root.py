"""The one composition root (``trifecta.bootstrap``): one telemetry service per segment and
per process, capabilities imported on first use, adapter providers overridable with fakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dependency_injector import providers

from tests.conftest import CliRunner
from tests.fakes import FakeLanguageServer, FakeRepoStateReader, FakeTelemetrySink
from trifecta.api import Segment
from trifecta.bootstrap import Root
from trifecta.domain.model import SymbolLocation


def events(segment: Path) -> list[dict[str, object]]:
    path = segment / "_ctx" / "telemetry" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def last_run(segment: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (segment / "_ctx" / "telemetry" / "last_run.json").read_text()
    )
    return data


# ---- one run id ------------------------------------------------------------------------------


def test_one_segment_is_one_run_and_last_run_counts_search_resolve_and_validate(
    py_segment: Path, cli: CliRunner
) -> None:
    cli(py_segment, "ctx", "build")
    before = len(events(py_segment))
    with Segment(py_segment) as seg:
        assert seg.search("ContextService").hits
        assert seg.resolve("pkg.service:ContextService", no_lsp=True).resolved
        assert seg.ctx_validate().ok
        run_id = seg.telemetry.run_id
    mine = events(py_segment)[before:]
    assert {e["run_id"] for e in mine} == {run_id}
    commands = {e["cmd"] for e in mine}
    assert {"ctx.search", "selector.resolve", "ctx.validate"} <= commands
    summary = last_run(py_segment)
    assert summary["run_id"] == run_id
    latencies = summary["latencies"]
    assert isinstance(latencies, dict)
    assert {"ctx.search", "selector.resolve", "ctx.validate"} <= set(latencies)


def test_one_cli_process_is_one_run(py_segment: Path, cli: CliRunner) -> None:
    cli(py_segment, "ctx", "build")
    before = len(events(py_segment))
    cli(py_segment, "ctx", "sync")  # a build and a validate in one process
    mine = events(py_segment)[before:]
    assert "ctx.validate" in {e["cmd"] for e in mine} and len(mine) >= 2
    assert len({e["run_id"] for e in mine}) == 1
    assert last_run(py_segment)["run_id"] == mine[0]["run_id"]


# ---- capabilities load on first use ---------------------------------------------------------

PROBE = """
import sys
from trifecta.adapters.cli.main import main
code = main(sys.argv[1:])
print("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""


def modules_after(segment: Path, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "--segment", str(segment), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.splitlines())


def test_a_fresh_search_process_imports_no_other_capability(
    py_segment: Path, cli: CliRunner
) -> None:
    cli(py_segment, "ctx", "build")
    loaded = modules_after(py_segment, "ctx", "search", "-q", "service")
    assert "trifecta.bootstrap.packs" in loaded and "dependency_injector" in loaded
    for absent in (
        "trifecta.bootstrap.symbols",
        "trifecta.bootstrap.skeletons",
        "tree_sitter",
        "trifecta.adapters.pyright.server",
        "trifecta.adapters.lsp_daemon.client",
        "trifecta.application.packs.build",
        "trifecta.application.packs.get",
        "trifecta.application.skeletons.use_cases",
        "asyncio",
        "trifecta.adapters.build.listing",  # made only when a directory moved
        "subprocess",
        "tempfile",
        "shutil",  # argparse's help formatter would import it to measure the terminal
        "configparser",  # dependency_injector's, for from_ini only
        "dataclasses",  # the search path's value classes are records (ADR 0011)
        "signal",  # only the fault-injection points of tests send signals
        # probed by dependency_injector at import, installed by the mcp extra (ADR 0011)
        "pydantic",
        "starlette",
        "anyio",
    ):
        assert absent not in loaded, absent


def test_a_fresh_resolve_without_lsp_imports_no_packs_and_no_language_server(
    py_segment: Path,
) -> None:
    loaded = modules_after(py_segment, "ast", "resolve", "--no-lsp", "pkg.service:make_service")
    assert "trifecta.bootstrap.symbols" in loaded
    for absent in (
        "trifecta.bootstrap.packs",
        "trifecta.application.packs.search",
        "trifecta.adapters.pyright.server",
        "trifecta.adapters.lsp_daemon.client",
        "tree_sitter",
        "asyncio",
    ):
        assert absent not in loaded, absent


def test_asyncio_imported_later_is_the_real_module() -> None:
    code = (
        "import trifecta.bootstrap, asyncio, sys\n"
        "assert hasattr(asyncio, 'run') and asyncio.run(asyncio.sleep(0, result=7)) == 7\n"
        "assert sys.modules['asyncio'] is asyncio\n"
        "import configparser\n"
        "assert sys.modules['configparser'] is configparser and configparser.RawConfigParser\n"
        "from dependency_injector import providers\n"
        "import pathlib, tempfile\n"
        "ini = pathlib.Path(tempfile.mkdtemp()) / 'a.ini'\n"
        "ini.write_text('[a]\\nb = 3\\n')\n"
        "config = providers.Configuration()\n"
        "config.from_ini(str(ini))\n"
        "assert config.a.b() == '3'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_probes_kept_out_of_the_library_import_work_later() -> None:
    # the mcp extra installs pydantic and starlette; the finder that hides them while
    # dependency_injector imports is gone afterwards, so the MCP server gets the real ones
    code = (
        "import sys, trifecta.bootstrap\n"
        "assert 'pydantic' not in sys.modules and 'starlette' not in sys.modules\n"
        "assert not any(type(f).__name__ == '_Unavailable' for f in sys.meta_path)\n"
        "import pydantic, starlette.requests\n"
        "class M(pydantic.BaseModel):\n    x: int\n"
        "assert M(x='3').x == 3\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---- the wiring, with fakes in place of adapters -----------------------------------------------


def test_the_real_wiring_runs_with_fake_adapters(py_segment: Path) -> None:
    root = Root(py_segment)
    sink, repo = FakeTelemetrySink(), FakeRepoStateReader("abcdefabcdef", True)
    root.core.telemetry_sink.override(providers.Object(sink))
    root.core.repo_state.override(providers.Object(repo))
    location = SymbolLocation("pkg/service.py", 4, 7, 9, "class", "ContextService")
    lsp = FakeLanguageServer(symbols={"pkg/service.py": [location]})
    root.symbols.lsp_client.override(providers.Object(lsp))
    with Segment.from_root(root) as seg:
        answer = seg.resolve("pkg.service:ContextService")
    assert answer.resolved_by == "lsp" and lsp.requests >= 1
    assert answer.matches[0].path == "pkg/service.py" and answer.matches[0].line == 4
    resolves = [e for e in sink.events if e["cmd"] == "selector.resolve"]
    assert resolves and resolves[0]["repo_sha"] == "abcdefabcdef"
    assert sink.last_run is not None and sink.last_run["run_id"] == resolves[0]["run_id"]
    assert not (py_segment / "_ctx" / "telemetry").exists()


def test_configuration_is_strict_and_flags_win(py_segment: Path) -> None:
    (py_segment / "_ctx").mkdir()
    (py_segment / "_ctx" / "trifecta.toml").write_text("[lsp]\ntimeout_ms = 900\n")
    root = Root(py_segment)
    assert root.core.config.lsp.timeout_ms() == 900
    assert root.symbols.config.lsp.timeout_ms() == 900  # sub-containers share the core's
    with pytest.raises(Exception, match="Undefined configuration option"):
        root.core.config.lsp.no_such_option()
    assert Root(py_segment, {"lsp": {"timeout_ms": 42}}).core.config.lsp.timeout_ms() == 42
