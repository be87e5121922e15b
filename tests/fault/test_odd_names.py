"""File names that are not UTF-8, and arguments that are not UTF-8."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.fault.helpers import assert_clean, cli, make_segment
from trifecta.adapters.jsonl_telemetry.sink import encode_lines

BAD = os.fsdecode(b"\xff.py")  # the name Python gives the bytes b"\xff.py"


def test_a_non_utf8_file_name_is_skipped_with_a_reason(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    (seg / BAD).write_text("def bad_name_function():\n    return 1\n")
    (seg / os.fsdecode(b"d\xfe")).mkdir()
    (seg / os.fsdecode(b"d\xfe") / "inner.py").write_text("def inner():\n    return 2\n")

    build = cli(seg, "ctx", "build", "--json")
    assert_clean(build)
    assert build.returncode == 0
    skipped = json.loads(build.stdout)["skipped"]
    assert {"path": "\\xff.py", "reason": "file name is not valid UTF-8"} in skipped
    assert {"path": "d\\xfe/", "reason": "file name is not valid UTF-8"} in skipped
    for args in (("ctx", "sync"), ("ctx", "validate"), ("ctx", "search", "-q", "helper")):
        proc = cli(seg, *args)
        assert_clean(proc)
        assert proc.returncode == 0, (args, proc.stderr)
    skeleton = cli(seg, "ast", "skeleton", ".")
    assert_clean(skeleton)
    assert "def helper(value: int) -> int" in skeleton.stdout
    assert "\\xff.py: file name is not valid UTF-8" in skeleton.stderr
    events = (seg / "_ctx" / "telemetry" / "events.jsonl").read_bytes()
    events.decode("utf-8")  # strict: valid UTF-8 throughout


def test_non_utf8_arguments_are_usage_errors(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    bad = os.fsdecode(b"a\xffb")
    for args in (
        ("ctx", "get", "-i", bad),
        ("ctx", "search", "-q", bad),
        ("ast", "skeleton", BAD),
    ):
        proc = cli(seg, *args)
        assert_clean(proc)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "not valid UTF-8" in proc.stderr
    events = (seg / "_ctx" / "telemetry" / "events.jsonl").read_bytes()
    events.decode("utf-8")


def test_telemetry_lines_are_valid_utf8_whatever_the_strings_hold() -> None:
    data = encode_lines([{"cmd": "x", "args": {"query": "a\udcffb"}}])
    assert json.loads(data.decode("utf-8"))["args"]["query"] == "a?b"
