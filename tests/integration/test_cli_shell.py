"""The CLI shell as a real process: exit codes, one-line errors, help, version."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import run_cli
from trifecta import __version__


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(None, *args, check=False, cwd=cwd)


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"trifecta {__version__}"


def test_help_lists_the_groups() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for group in ("ctx", "ast", "lsp", "telemetry"):
        assert group in proc.stdout


def test_malformed_selector_is_exit_2_with_one_line(tmp_path: Path) -> None:
    proc = run("ast", "resolve", "sym://python/mod/", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("trifecta: error: malformed selector")
    assert "Traceback" not in proc.stderr


def test_bad_flag_is_exit_2_with_one_line() -> None:
    proc = run("ctx", "search", "--no-such-flag")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("trifecta: error:")


def test_missing_segment_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run("--segment", str(tmp_path / "nope"), "ast", "skeleton", "a.py")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "is not a directory" in proc.stderr


def test_subcommand_help_opens_with_its_summary() -> None:
    proc = run("ctx", "search", "--help")
    assert proc.returncode == 0
    assert "ranked search over the pack" in proc.stdout.split("options:")[0]
