"""``trifecta telemetry summary`` and last_run.json consistency, on real files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import run_cli
from tests.fixtures.synthetic_telemetry import generate_synthetic_events, replay
from trifecta import Telemetry
from trifecta.application.telemetry.summary import nearest_rank

REPO = Path(__file__).resolve().parents[2]


def cli(segment: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(segment, *args, check=False, cwd=REPO)


def run_once(segment: Path, cmd: str, timings: list[int], tokens: list[int], **kw: int) -> None:
    t = Telemetry(segment, **kw)  # type: ignore[arg-type]
    for ms, tok in zip(timings, tokens, strict=True):
        t.event(cmd, {"query": "q"}, {"hits": 1}, ms, tokens=tok)
        t.incr(cmd.replace(".", "_") + "_count")
    t.incr("ast_parse_count", 2)
    t.incr("ast_cache_hit_count", 6)
    t.flush()


def test_summary_consistency(tmp_path: Path) -> None:
    t = Telemetry(tmp_path)
    events = generate_synthetic_events(100)
    replay(t, events)
    for _ in range(100):
        t.incr("ctx_search_count")
    t.incr("file_read_excerpt_bytes_total", 4096)
    t.flush()
    directory = tmp_path / "_ctx" / "telemetry"
    last = json.loads((directory / "last_run.json").read_text())
    metrics = json.loads((directory / "metrics.json").read_text())
    # a single run: its deltas are exactly the cumulative counters
    assert last["metrics_delta"] == metrics
    lat = last["latencies"]["ctx.search"]
    assert lat["count"] == metrics["ctx_search_count"] == 100
    assert lat["p50_ms"] <= lat["p95_ms"] <= lat["max_ms"]
    ordered = sorted(e["timing_ms"] for e in events)
    assert lat["p95_ms"] == nearest_rank(ordered, 0.95) == 105
    assert last["file_read"]["total_bytes"] == sum(
        v for k, v in last["file_read"].items() if k != "total_bytes"
    )
    assert last["telemetry"]["events_written"] == 100 == metrics["telemetry_events_written"]
    tok = last["tokens"]["ctx.search"]
    assert tok["total"] == sum(e["tokens"] for e in events)
    # a second run adds up
    t2 = Telemetry(tmp_path)
    t2.incr("ctx_search_count", 5)
    t2.flush()
    metrics2 = json.loads((directory / "metrics.json").read_text())
    assert metrics2["ctx_search_count"] == 105


def test_cli_summary_covers_all_runs_and_rotated_files(tmp_path: Path) -> None:
    run_once(tmp_path, "ctx.search", [5, 1, 9, 3], [100, 200, 300, 400], rotate_bytes=1000)
    run_once(tmp_path, "ctx.search", [7, 2], [10, 20], rotate_bytes=1000)
    run_once(tmp_path, "ctx.get", [11], [1500], rotate_bytes=1000)
    directory = tmp_path / "_ctx" / "telemetry"
    assert (directory / "events.1.jsonl").exists()
    proc = cli(tmp_path, "telemetry", "summary", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    summary = json.loads(proc.stdout)
    assert summary["events"] == 7 and summary["runs"] == 3
    # ctx.search over both runs: sorted [1, 2, 3, 5, 7, 9]
    assert summary["latencies"]["ctx.search"] == {
        "count": 6,
        "p50_ms": 5.0,
        "p95_ms": 9.0,
        "max_ms": 9.0,
    }
    assert summary["tokens"]["ctx.search"] == {"count": 6, "total": 1030, "p50": 200, "max": 400}
    assert summary["tokens"]["ctx.get"]["total"] == 1500
    assert summary["counters"]["ctx_search_count"] == 6
    assert summary["ast"]["ast_parse_count"] == 6
    assert summary["ast"]["ast_cache_hit_rate"] == 0.75  # 18 hits / (18 + 6 misses)
    assert summary["health"]["events_written_total"] == 7
    assert summary["health"]["last_run"]["events_written"] == 1
    # reading changed nothing
    assert json.loads((directory / "metrics.json").read_text())["ctx_search_count"] == 6
    text = cli(tmp_path, "telemetry", "summary")
    assert text.returncode == 0
    assert "ctx.search" in text.stdout and "1030" in text.stdout
    assert "health:" in text.stdout


def test_cli_summary_on_a_segment_without_telemetry(tmp_path: Path) -> None:
    proc = cli(tmp_path, "telemetry", "summary", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["events"] == 0 and summary["latencies"] == {}
    assert not (tmp_path / "_ctx").exists()  # reading creates nothing
