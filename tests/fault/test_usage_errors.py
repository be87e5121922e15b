"""Values no command can use: exit 2 with one line, never an internal error; a rejected
flag is still recorded; escape codes in served text never reach the terminal raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fault.helpers import assert_clean, cli, make_segment


@pytest.fixture
def seg(tmp_path: Path) -> Path:
    segment = make_segment(tmp_path)
    assert cli(segment, "ctx", "build").returncode == 0
    return segment


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("ctx", "search", "-q", "x", "-l", str(10**30)), {}, "--limit"),
        (("ctx", "search", "-q", "x", "-l", "0"), {}, "--limit must be at least 1"),
        (("ctx", "get", "-i", "x", "-b", str(10**30)), {}, "--budget-token-est"),
        (("ast", "resolve", "pkg.mod:helper", "--timeout-ms", str(10**30)), {}, "--timeout-ms"),
        (("lsp", "serve", "--idle-timeout-s", "-1"), {}, "--idle-timeout-s"),
        (
            ("ast", "resolve", "pkg.mod:helper", "--require-lsp"),
            {"TRIFECTA_LSP_READY_TIMEOUT_MS": str(10**24)},
            "lsp.ready_timeout_ms",
        ),
        (("ctx", "build"), {"TRIFECTA_FILES_MAX_BYTES": "inf"}, "files.max_bytes"),
        (("ctx", "build"), {"TRIFECTA_FILES_MAX_BYTES": "1.5"}, "files.max_bytes"),
        (("ctx", "build"), {"TRIFECTA_FILES_MAX_BYTES": "true"}, "files.max_bytes"),
    ],
)
def test_usage_errors_exit_2_in_one_line(
    seg: Path, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    proc = cli(seg, *args, env=env)
    assert_clean(proc)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and says in proc.stderr, proc.stderr


@pytest.mark.parametrize("value", ["inf", "1.5", "true", "1e3"])
def test_a_config_file_integer_that_is_not_one_is_refused(seg: Path, value: str) -> None:
    (seg / "_ctx" / "trifecta.toml").write_text(f"[files]\nmax_bytes = {value}\n")
    proc = cli(seg, "ctx", "build")
    assert_clean(proc)
    assert proc.returncode == 2
    assert "files.max_bytes" in proc.stderr and "expected an integer" in proc.stderr


def test_a_segment_path_the_os_refuses_is_a_usage_error(tmp_path: Path) -> None:
    proc = cli(tmp_path, "--segment", "s" * 5000, "ctx", "search", "-q", "x")
    assert_clean(proc)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1


def test_a_path_over_the_os_limit_is_a_one_line_failure(seg: Path) -> None:
    proc = cli(seg, "ast", "skeleton", "a/" * 2100 + "x.py")
    assert_clean(proc)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1


def test_a_flag_the_parser_rejects_is_recorded(seg: Path) -> None:
    events = seg / "_ctx" / "telemetry" / "events.jsonl"
    before = len(events.read_text().splitlines())
    assert cli(seg, "ctx", "search", "-q", "x", "-l", "many").returncode == 2
    assert cli(seg, "ctx", "get", "--no-such-flag").returncode == 2
    added = [json.loads(line) for line in events.read_text().splitlines()[before:]]
    assert [(e["cmd"], e["result"]) for e in added] == [
        ("ctx.search", {"status": "error", "error": "UsageError"}),
        ("ctx.get", {"status": "error", "error": "UsageError"}),
    ]


def test_escape_codes_in_served_text_are_neutralised(seg: Path) -> None:
    (seg / "evil.py").write_text('def evil():\n    """\x1b[2J\x1b]0;pwned\x07 clear"""\n')
    assert cli(seg, "ctx", "sync").returncode == 0
    search = cli(seg, "ctx", "search", "-q", "evil clear")
    got = cli(seg, "ctx", "get", "-i", "evil.py#evil", "--mode", "raw")
    skeleton = cli(seg, "ast", "skeleton", "evil.py")
    for proc in (search, got, skeleton):
        assert proc.returncode == 0, proc.stderr
        assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "\\x1b[2J" in got.stdout
    raw = cli(seg, "ctx", "get", "-i", "evil.py#evil", "--mode", "raw", "--json").stdout
    assert "\x1b" not in raw  # JSON escapes it ...
    assert "\x1b[2J" in json.loads(raw)["chunks"][0]["text"]  # ... and keeps the text exact
