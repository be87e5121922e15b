"""A CLI command runs with the cyclic garbage collector paused (a short process), restored
afterwards; the commands that serve until stopped run with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import CliRunner
from trifecta.adapters.cli.parser import LONG_LIVED, build_parser

PROBE = """
import gc, sys
from trifecta.adapters.cli.main import main
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info))
code = main(sys.argv[1:])
print(len(collections), gc.isenabled())
sys.exit(code)
"""


def test_a_search_process_collects_nothing_and_restores_the_collector(
    py_segment: Path, cli: CliRunner
) -> None:
    cli(py_segment, "ctx", "build")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "--segment", str(py_segment), "ctx", "search", "service"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    # with the collector on, importing and searching runs dozens of passes
    assert proc.stdout.splitlines()[-1] == "0 True"


def test_the_servers_are_the_long_lived_commands() -> None:
    handlers = {
        build_parser("mcp").parse_args(["mcp"]).handler,
        build_parser("lsp").parse_args(["lsp", "serve"]).handler,
        build_parser("ctx").parse_args(["ctx", "serve"]).handler,
    }
    assert handlers == LONG_LIVED
    search = build_parser("ctx").parse_args(["ctx", "search", "x"]).handler
    assert search not in LONG_LIVED
