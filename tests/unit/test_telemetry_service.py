"""TelemetryService: levels, reserved keys, tokens and repo state, flush arithmetic."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from tests.fakes import FakeClock, FakeRepoStateReader, FakeTelemetrySink
from trifecta.application.telemetry.service import TelemetryService
from trifecta.application.telemetry.summary import ast_block, lsp_block, top_warnings
from trifecta.domain.errors import TelemetryError
from trifecta.domain.model import estimate_tokens


def service(
    level: str = "lite", repo: FakeRepoStateReader | None = None, **kw: object
) -> tuple[TelemetryService, FakeTelemetrySink]:
    sink = FakeTelemetrySink()
    svc = TelemetryService(
        sink,
        FakeClock(),
        "seg-1",
        run_id="r1",
        level=level,
        repo=repo or FakeRepoStateReader(),
        **kw,  # type: ignore[arg-type]
    )
    return svc, sink


def test_level_off_touches_nothing() -> None:
    repo = FakeRepoStateReader()
    svc, sink = service("off", repo)
    svc.event("ctx.search", {"query": "q"}, {}, 1, tokens=3)
    svc.incr("ctx_search_count")
    svc.flush()
    assert not svc.enabled
    assert sink.events == [] and sink.counters == {} and sink.last_run is None
    assert repo.reads == 0  # not even git is read


@pytest.mark.parametrize("key", ["ts", "run_id", "segment", "repo_sha", "dirty"])
def test_extra_fields_cannot_overwrite_core_keys(key: str) -> None:
    svc, sink = service()
    with pytest.raises(TelemetryError, match=key):
        extra: dict[str, Any] = {key: "x"}
        svc.event("ctx.get", {}, {}, 1, **extra)
    assert sink.events == []


def test_tokens_default_and_repo_state_read_once() -> None:
    repo = FakeRepoStateReader("abcdef123456", True)
    svc, sink = service(repo=repo)
    rendered = "x" * 401
    svc.event("ctx.get", {}, {}, 1, tokens=estimate_tokens(rendered))
    svc.event("lsp.spawn", {}, {}, 1)
    svc.event("ast.skeleton", {}, {}, 1, tokens=7.9)
    assert [e["tokens"] for e in sink.events] == [101, 0, 7]
    assert {(e["repo_sha"], e["dirty"]) for e in sink.events} == {("abcdef123456", True)}
    assert repo.reads == 1


def test_outside_git_fields_are_null() -> None:
    svc, sink = service(repo=FakeRepoStateReader(None, None))
    svc.event("ctx.get", {}, {}, 1)
    assert sink.events[0]["repo_sha"] is None and sink.events[0]["dirty"] is None


def test_flush_merges_only_new_counts_and_skips_empty_runs() -> None:
    svc, sink = service()
    svc.flush()
    assert sink.last_run is None and sink.counters == {}  # nothing recorded: nothing written
    svc.incr("ctx_search_count", 2)
    svc.flush()
    svc.incr("ctx_search_count")
    svc.flush()
    svc.flush()
    assert sink.counters["ctx_search_count"] == 3
    last = sink.last_run
    assert last is not None and last["metrics_delta"]["ctx_search_count"] == 3


def test_health_counters_are_merged() -> None:
    svc, sink = service()
    for _ in range(3):
        svc.event("ctx.get", {}, {}, 1)
    sink.fail_writes = True
    svc.event("ctx.get", {}, {}, 1)
    svc.flush()
    assert sink.counters["telemetry_events_written"] == 3
    assert sink.counters["telemetry_events_spooled"] == 1
    assert sink.last_run is not None
    assert sink.last_run["telemetry"]["events_written"] == 3


def test_observe_wins_over_event_timings_for_its_command() -> None:
    svc, sink = service()
    svc.event("ctx.search", {}, {}, 100)
    svc.observe("ctx.search", 7)
    svc.event("ast.parse", {}, {}, 4)
    svc.flush()
    last = sink.last_run
    assert last is not None
    assert last["latencies"]["ctx.search"]["count"] == 1
    assert last["latencies"]["ctx.search"]["max_ms"] == 7
    assert last["latencies"]["ast.parse"]["p50_ms"] == 4


def test_last_run_blocks() -> None:
    pack = {"pack_sha": "0123456789abcdef", "pack_mtime": 1.5}
    svc, sink = service(pack_state=lambda: pack)
    for name, n in [
        ("ast_parse_count", 4),
        ("ast_cache_hit_count", 6),
        ("lsp_spawn_count", 1),
        ("lsp_ready_count", 1),
        ("lsp_timeout_count", 1),
        ("lsp_fallback_count", 1),
    ]:
        svc.incr(name, n)
    for cmd in ("lsp.spawn", "lsp.ready", "lsp.definition", "lsp.definition", "lsp.timeout"):
        svc.event(cmd, {}, {}, 1)
    for w in ["a", "b", "b", "c", "d", "e", "f", "f", "f"]:
        svc.event("ctx.get", {}, {}, 1, warnings=[w])
    svc.flush()
    last = sink.last_run
    assert last is not None
    assert last["ast"]["ast_cache_hit_rate"] == 0.6  # 6 / (6 + 4 misses)
    assert last["lsp"]["lsp_request_count"] == 3  # definition x2 + timeout; not lifecycle
    assert last["lsp"]["lsp_timeout_rate"] == round(1 / 3, 4)
    assert last["top_warnings"] == ["f", "b", "a", "c", "d"]
    assert last["pack_state"] == pack
    assert last["run_id"] == "r1" and last["segment"] == "seg-1"


def test_rate_denominators() -> None:
    assert ast_block({})["ast_cache_hit_rate"] is None
    assert ast_block({"ast_cache_hit_count": 3, "ast_cache_miss_count": 1})[
        "ast_cache_hit_rate"
    ] == (0.75)
    assert lsp_block({"lsp_timeout_count": 2, "lsp_request_count": 8})["lsp_timeout_rate"] == 0.25
    assert lsp_block({"lsp_spawn_count": 1})["lsp_timeout_rate"] is None
    assert top_warnings(["x"] * 3 + list("abcdefg")) == ["x", "a", "b", "c", "d"]


def test_segment_label_and_warnings_are_redacted() -> None:
    sink = FakeTelemetrySink()
    svc = TelemetryService(
        sink, FakeClock(), "alice-1234abcd", run_id="r", home="/home/alice", user="alice"
    )
    svc.event("ctx.get", {}, {}, 1, warnings=["cannot read /home/alice/.ssh/id_rsa"])
    event = sink.events[0]
    assert event["segment"] == "<user>-1234abcd"
    assert "alice" not in event["warnings"][0]


def test_a_summary_reads_while_other_threads_record() -> None:
    # a long-lived server's status asks for the summary while a build or the language
    # server's warm-up records events under new command names on other threads
    telemetry = TelemetryService(FakeTelemetrySink(), FakeClock(), "seg")
    errors: list[BaseException] = []

    def record(prefix: str) -> None:
        try:
            for i in range(1500):
                telemetry.event(f"{prefix}.{i}", {}, {"status": "ok"}, 1, tokens=1)
                telemetry.incr(f"{prefix}_{i}_count")
        except BaseException as e:  # pragma: no cover - the failure this test looks for
            errors.append(e)

    threads = [threading.Thread(target=record, args=(p,)) for p in ("a", "b")]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        for t in threads:
            t.start()
        summaries = 0
        while any(t.is_alive() for t in threads):
            try:
                telemetry.summary()
                telemetry.session()
            except BaseException as e:
                errors.append(e)
                break
            summaries += 1
        for t in threads:
            t.join(timeout=30)
    finally:
        sys.setswitchinterval(interval)

    assert not errors
    final = telemetry.summary()
    assert len(final["latencies"]) == 3000 and len(final["metrics_delta"]) == 3000
    assert telemetry.session()["latencies"] == final["latencies"]
    assert telemetry.session()["metrics_delta"] == final["metrics_delta"]
    assert summaries > 0
