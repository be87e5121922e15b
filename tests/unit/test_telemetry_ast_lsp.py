"""The seed's unit tests (E.1) that belong to the telemetry service, on fakes only.

(``test_lsp_ready_event_fires_on_diagnostics`` and ``test_lsp_timeout_falls_back_to_tree_sitter``
belong to the symbols issue, which builds the LSP client.)
"""

from __future__ import annotations

import json

from tests.fakes import FakeClock, FakeRepoStateReader, FakeTelemetrySink
from tests.fixtures.synthetic_telemetry import generate_synthetic_events, replay
from trifecta.application.telemetry.service import TelemetryService

ROOT = "/work/home/alice/projects/seg"
HOME = "/work/home/alice"


def make(
    sink: FakeTelemetrySink | None = None, clock: FakeClock | None = None, level: str = "lite"
) -> tuple[TelemetryService, FakeTelemetrySink, FakeClock]:
    sink = sink or FakeTelemetrySink()
    clock = clock or FakeClock()
    service = TelemetryService(
        sink,
        clock,
        "seg-1234abcd",
        run_id="run_test",
        level=level,
        segment_root=ROOT,
        home=HOME,
        user="alice",
        repo=FakeRepoStateReader(),
        bytes_read=lambda: {"skeleton": 0},
    )
    return service, sink, clock


class WallClockJumpsBack(FakeClock):
    """Wall time runs backwards (an NTP step); the monotonic clock keeps moving forward."""

    def epoch_s(self) -> float:
        return 1_767_225_600.0 - self.now_ns / 1e9


def test_ast_event_uses_monotonic_clock() -> None:
    service, sink, clock = make(clock=WallClockJumpsBack())
    start = service.now_ns()
    clock.advance(12.7)  # the monotonic clock moves 12.7 ms while wall time goes back
    service.event("ast.parse", {"file": "a.py"}, {"status": "ok"}, service.elapsed_ms(start))
    start = service.now_ns()
    clock.advance(0.4)
    service.event("ast.parse", {"file": "b.py"}, {"status": "ok"}, service.elapsed_ms(start))
    assert [e["timing_ms"] for e in sink.events] == [12, 0]
    assert all(isinstance(e["timing_ms"], int) for e in sink.events)
    full, full_sink, full_clock = make(clock=WallClockJumpsBack(), level="full")
    for _ in range(3):
        full_clock.advance(5)
        full.event("ast.parse", {"file": "a.py"}, {"status": "ok"}, 5)
    offsets = [e["since_start_ms"] for e in full_sink.events]
    assert offsets == [5.0, 10.0, 15.0]  # monotonic: never backwards
    assert [e["seq"] for e in full_sink.events] == [1, 2, 3]


def test_ast_event_redacts_absolute_path() -> None:
    service, sink, _ = make()
    service.event(
        "ast.parse",
        {"file": f"{ROOT}/src/pkg/mod.py", "other": "/etc/passwd"},
        {"status": "ok", "note": f"cached in {HOME}/.cache/trifecta/x.bin"},
        3,
        file_path_rel=f"{ROOT}/src/pkg/mod.py",
    )
    event = sink.events[0]
    assert event["args"]["file"] == "src/pkg/mod.py"
    assert event["file_path_rel"] == "src/pkg/mod.py"
    assert event["args"]["other"].startswith("external/") and event["args"]["other"].endswith(
        "-passwd"
    )
    line = json.dumps(event)
    assert ROOT not in line and HOME not in line and "alice" not in line


def test_bytes_read_per_command_aggregated() -> None:
    reads = {"skeleton": 0, "excerpt": 0, "raw": 0}
    sink = FakeTelemetrySink()
    service = TelemetryService(sink, FakeClock(), "seg", run_id="r", bytes_read=lambda: dict(reads))
    reads["skeleton"] += 800
    service.event("ast.skeleton", {"paths": ["a.py"]}, {"files": 1}, 2, bytes_read=800)
    reads["excerpt"] += 3000
    service.event("ctx.get", {"ids": ["x"]}, {"chunks": 1}, 4, bytes_read=1000)
    service.event("ctx.get", {"ids": ["y"]}, {"chunks": 1}, 4, bytes_read=2000)
    service.flush()
    assert sink.counters["file_read_skeleton_bytes_total"] == 800
    assert sink.counters["file_read_excerpt_bytes_total"] == 3000
    assert "file_read_raw_bytes_total" not in sink.counters  # nothing read raw
    last = sink.last_run
    assert last is not None
    assert last["bytes_read"] == {"ast.skeleton": 800, "ctx.get": 3000}
    assert last["file_read"] == {
        "skeleton_bytes": 800,
        "excerpt_bytes": 3000,
        "raw_bytes": 0,
        "total_bytes": 3800,
    }
    # A second flush adds only what was read since the first one.
    reads["raw"] += 5
    service.flush()
    assert sink.counters["file_read_skeleton_bytes_total"] == 800
    assert sink.counters["file_read_raw_bytes_total"] == 5


def test_event_extra_fields_serialized() -> None:
    service, sink, _ = make()
    service.event(
        "ctx.search",
        {"query": "context routing"},
        {"hits": 2},
        145,
        bytes_read=8192,
        disclosure_mode="excerpt",
        cache_hit_rate=0.87,
        tokens=312,
    )
    event = sink.events[0]
    assert event["bytes_read"] == 8192
    assert event["disclosure_mode"] == "excerpt"
    assert event["cache_hit_rate"] == 0.87
    assert event["tokens"] == 312
    assert event["repo_sha"] == "0123456789ab" and event["dirty"] is False
    assert list(event)[:8] == [
        "ts",
        "run_id",
        "segment",
        "cmd",
        "args",
        "result",
        "timing_ms",
        "warnings",
    ]
    json.loads(json.dumps(event))  # serialisable as it stands


def test_no_lock_skip_on_critical_events() -> None:
    service, sink, _ = make()
    sink.fail_writes = True  # the lock cannot be had: events go to the spool
    service.event("lsp.ready", {"pyright_binary": "pyright-langserver"}, {"ready_via": "d"}, 900)
    service.event("ctx.search", {"query": "q"}, {"hits": 1}, 5)
    assert sink.events == [] and len(sink.spool) == 2
    sink.fail_writes = False
    service.event("ctx.get", {"ids": ["a"]}, {"chunks": 1}, 3)
    assert [e["cmd"] for e in sink.events] == ["lsp.ready", "ctx.search", "ctx.get"]
    assert sink.spool == []
    assert "telemetry_lock_skipped" not in service.warnings


def test_summary_calculates_p50_p95_correctly() -> None:
    service, sink, _ = make()
    events = generate_synthetic_events(100)
    replay(service, events)
    service.flush()
    times_sorted = sorted(e["timing_ms"] for e in events)
    last = sink.last_run
    assert last is not None
    lat = last["latencies"]["ctx.search"]
    assert lat["count"] == 100
    assert lat["p50_ms"] == times_sorted[50]  # the seed's expectation
    assert lat["p95_ms"] == times_sorted[int(100 * 0.95)]
    assert lat["max_ms"] == 109
    tok = last["tokens"]["ctx.search"]
    assert tok == {"count": 100, "total": sum(50 + i for i in range(100)), "p50": 100, "max": 149}


def test_summary_nearest_rank_on_small_and_odd_sets() -> None:
    service, sink, _ = make()
    for ms in (5, 1, 3):
        service.observe("ctx.get", ms)
    service.observe("one", 7)
    service.flush()
    last = sink.last_run
    assert last is not None
    # sorted [1, 3, 5]: p50 -> index min(2, floor(1.5)) = 1; p95 -> index min(2, 2) = 2
    assert last["latencies"]["ctx.get"] == {"count": 3, "p50_ms": 3.0, "p95_ms": 5.0, "max_ms": 5}
    assert last["latencies"]["one"] == {"count": 1, "p50_ms": 7.0, "p95_ms": 7.0, "max_ms": 7}
