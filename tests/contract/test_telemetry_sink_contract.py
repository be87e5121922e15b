"""The TelemetrySink contract, run against the fake and the JSONL sink."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes import FakeTelemetrySink
from trifecta.adapters.jsonl_telemetry.sink import LOCK, JsonlTelemetrySink
from trifecta.domain.ports import TelemetrySink


@dataclass
class Harness:
    sink: TelemetrySink
    block: Callable[[], None]  # make writes impossible for now (lock held elsewhere)
    unblock: Callable[[], None]


def make_fake(tmp: Path) -> Harness:
    sink = FakeTelemetrySink()

    def block() -> None:
        sink.fail_writes = True

    def unblock() -> None:
        sink.fail_writes = False

    return Harness(sink, block, unblock)


def make_jsonl(tmp: Path) -> Harness:
    directory = tmp / "_ctx" / "telemetry"
    sink = JsonlTelemetrySink(directory, lock_timeout_ms=20)
    held: list[int] = []

    def block() -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.append(fd)

    def unblock() -> None:
        for fd in held:
            os.close(fd)  # closing the descriptor releases its flock
        held.clear()

    return Harness(sink, block, unblock)


@pytest.fixture(params=[make_fake, make_jsonl], ids=["fake", "jsonl"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    factory: Callable[[Path], Harness] = request.param
    h = factory(tmp_path)
    yield h
    h.unblock()


def test_appended_records_read_back_in_order(harness: Harness) -> None:
    sink = harness.sink
    sink.append_events([{"cmd": "a", "n": 1}])
    sink.append_events([{"cmd": "b", "n": 2}, {"cmd": "c", "n": 3, "nested": {"x": [1]}}])
    sink.append_events([])
    assert list(sink.read_events()) == [
        {"cmd": "a", "n": 1},
        {"cmd": "b", "n": 2},
        {"cmd": "c", "n": 3, "nested": {"x": [1]}},
    ]
    assert sink.health()["events_written"] == 3


def test_counters_merge_exactly(harness: Harness) -> None:
    sink = harness.sink
    assert sink.read_counters() == {}
    assert sink.merge_counters({"a": 2, "b": 1}) == {"a": 2, "b": 1}
    assert sink.merge_counters({"a": 3, "c": 5}) == {"a": 5, "b": 1, "c": 5}
    assert sink.read_counters() == {"a": 5, "b": 1, "c": 5}


def test_last_run_is_replaced_whole(harness: Harness) -> None:
    sink = harness.sink
    assert sink.read_last_run() is None
    sink.write_last_run({"run_id": "r1", "latencies": {"x": {"count": 1}}})
    sink.write_last_run({"run_id": "r2"})
    assert sink.read_last_run() == {"run_id": "r2"}


def test_blocked_writes_are_spooled_then_written_by_a_later_call(harness: Harness) -> None:
    sink = harness.sink
    sink.append_events([{"cmd": "before"}])
    harness.block()
    sink.append_events([{"cmd": "lsp.ready"}])
    sink.append_events([{"cmd": "while-blocked"}])
    health = sink.health()
    assert health["events_spooled"] == 2
    harness.unblock()
    sink.append_events([{"cmd": "after"}])
    cmds = [r["cmd"] for r in sink.read_events()]
    assert cmds == ["before", "lsp.ready", "while-blocked", "after"]


def test_health_reports_the_figures(harness: Harness) -> None:
    health = harness.sink.health()
    for key in ("events_written", "events_spooled", "max_lock_wait_ms"):
        assert key in health
        assert health[key] == 0
