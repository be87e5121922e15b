"""Telemetry as the container wires it: levels and their precedence, bytes read per mode,
redaction against the real segment root, the trifecta.Telemetry entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trifecta
from trifecta.api import Segment
from trifecta.domain.model import ReadMode, estimate_tokens


def tel(segment: Path) -> Path:
    return segment / "_ctx" / "telemetry"


def events(segment: Path) -> list[dict[str, object]]:
    path = tel(segment) / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_segment_telemetry_writes_redacted_events_with_context(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    with Segment(tmp_path) as seg:
        text = seg._root.core.file_reader().read_text("a.py", ReadMode.SKELETON)
        rendered = "def f(): ..."
        seg.telemetry.event(
            "ast.skeleton",
            {"paths": [str(tmp_path / "a.py")]},
            {"files": 1},
            2,
            tokens=estimate_tokens(rendered),
            bytes_read=text.size_bytes,
        )
    (event,) = events(tmp_path)
    assert event["args"] == {"paths": ["a.py"]}
    assert event["tokens"] == 3 and event["repo_sha"] is None and event["dirty"] is None
    metrics = json.loads((tel(tmp_path) / "metrics.json").read_text())
    assert metrics["file_read_skeleton_bytes_total"] == len(b"def f():\n    return 1\n")
    last = json.loads((tel(tmp_path) / "last_run.json").read_text())
    assert last["file_read"]["skeleton_bytes"] == metrics["file_read_skeleton_bytes_total"]
    assert last["tokens"]["ast.skeleton"]["total"] == 3


def test_level_off_by_flag_creates_nothing(tmp_path: Path) -> None:
    with Segment(tmp_path, {"telemetry": {"level": "off"}}) as seg:
        seg.telemetry.event("ctx.get", {}, {}, 1)
        seg.telemetry.incr("ctx_get_count")
    assert not (tmp_path / "_ctx").exists()


def test_level_precedence_flag_over_env_over_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "_ctx").mkdir()
    (tmp_path / "_ctx" / "trifecta.toml").write_text('[telemetry]\nlevel = "full"\n')
    with Segment(tmp_path) as seg:  # config file: full
        seg.telemetry.event("ctx.get", {}, {}, 1)
    assert "seq" in events(tmp_path)[-1]
    monkeypatch.setenv("TRIFECTA_TELEMETRY", "lite")  # env beats config
    with Segment(tmp_path) as seg:
        seg.telemetry.event("ctx.get", {}, {}, 1)
    assert "seq" not in events(tmp_path)[-1]
    monkeypatch.setenv("TRIFECTA_TELEMETRY", "off")
    with Segment(tmp_path, {"telemetry": {"level": "full"}}) as seg:  # flag beats env
        seg.telemetry.event("ctx.get", {}, {}, 1)
    assert events(tmp_path)[-1]["seq"] == 1
    count = len(events(tmp_path))
    with Segment(tmp_path) as seg:  # env off: nothing more
        seg.telemetry.event("ctx.get", {}, {}, 1)
    assert len(events(tmp_path)) == count


def test_embedding_entry_point_follows_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIFECTA_TELEMETRY", "off")
    t = trifecta.Telemetry(tmp_path)
    assert not t.enabled
    explicit = trifecta.Telemetry(tmp_path, level="lite")
    assert explicit.enabled
    explicit.event("ctx.get", {}, {}, 1)
    assert len(events(tmp_path)) == 1


def test_cli_level_flag_off(tmp_path: Path) -> None:
    from trifecta.adapters.cli.main import main

    assert main(["--segment", str(tmp_path), "--telemetry", "off", "telemetry", "summary"]) == 0
    assert not (tmp_path / "_ctx").exists()


def test_paths_through_a_symlinked_segment_are_relative(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    t = trifecta.Telemetry(link)
    t.event("ast.skeleton", {"via_link": str(link / "a.py"), "real": str(real / "b.py")}, {}, 1)
    (event,) = events(real)
    assert event["args"] == {"via_link": "a.py", "real": "b.py"}


def test_pack_state_in_last_run_when_a_pack_exists(tmp_path: Path) -> None:
    import hashlib

    with Segment(tmp_path) as seg:
        seg.telemetry.event("ctx.stats", {}, {}, 1)
    last = json.loads((tel(tmp_path) / "last_run.json").read_text())
    assert last["pack_state"] is None
    pack = tmp_path / "_ctx" / "context_pack.json"
    pack.write_text('{"chunks": {}}')
    with Segment(tmp_path) as seg:
        seg.telemetry.event("ctx.stats", {}, {}, 1)
    last = json.loads((tel(tmp_path) / "last_run.json").read_text())
    assert last["pack_state"] == {
        "pack_sha": hashlib.sha256(b'{"chunks": {}}').hexdigest()[:16],
        "pack_mtime": pack.stat().st_mtime,
    }
