"""Every ctx command records exactly one command event, failures included."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.unit.packs_world import World
from trifecta.application.packs.get import GetRequest
from trifecta.application.packs.stats import PackStats
from trifecta.application.packs.validate import ValidatePack
from trifecta.domain.errors import (
    LockTimeout,
    PackCorrupt,
    PackMissing,
    TrifectaError,
    UnknownChunks,
    UsageError,
)

FILES: dict[str, bytes | str] = {"src/mod.py": "def helper\n", "a.md": "# A\n\ntext\n"}


def command_events(world: World) -> list[dict[str, object]]:
    return [e for e in world.sink.events if str(e["cmd"]).startswith("ctx.")]


def only_event(world: World, cmd: str) -> dict[str, object]:
    events = command_events(world)
    assert [e["cmd"] for e in events] == [cmd]
    return events[0]


def fails(world: World, action: Callable[[], object], error: type[TrifectaError]) -> None:
    world.sink.events.clear()
    with pytest.raises(error):
        action()


def test_unknown_ids_record_one_error_event_without_the_message() -> None:
    world = World(FILES)
    world.build()
    fails(world, lambda: world.get(GetRequest(("src/secret_name.py#nope",))), UnknownChunks)
    event = only_event(world, "ctx.get")
    assert event["result"] == {"status": "error", "error": "UnknownChunks"}
    assert event["tokens"] == 0
    assert event["args"] == {
        "ids": ["src/secret_name.py#nope"],
        "mode": "excerpt",
        "budget_token_est": 1500,
        "max_chunks": 20,
    }
    assert world.telemetry.metrics["ctx_get_error_count"] == 1


def test_a_corrupt_pack_records_the_search_and_get_failures() -> None:
    world = World(FILES)
    world.build()
    world.store.corrupt()
    fails(world, lambda: world.search("helper"), PackCorrupt)
    assert only_event(world, "ctx.search")["result"] == {"status": "error", "error": "PackCorrupt"}
    fails(world, lambda: world.get(GetRequest(("src/mod.py",))), PackCorrupt)
    assert only_event(world, "ctx.get")["result"] == {"status": "error", "error": "PackCorrupt"}


def test_a_rejected_query_and_empty_ids_are_recorded() -> None:
    world = World(FILES)
    world.build()
    fails(world, lambda: world.search("!!! ???"), UsageError)
    event = only_event(world, "ctx.search")
    assert event["result"] == {"status": "error", "error": "UsageError"}
    assert event["args"] == {"query": "!!! ???", "limit": 5, "sync": False, "files": False}
    fails(world, lambda: world.get(GetRequest(())), UsageError)
    assert only_event(world, "ctx.get")["result"]["error"] == "InvalidRequest"  # type: ignore[index]


def test_missing_pack_and_lock_timeout_are_recorded_for_build_sync_validate() -> None:
    world = World(FILES)
    fails(world, lambda: world.search("helper"), PackMissing)
    assert only_event(world, "ctx.search")["result"] == {"status": "error", "error": "PackMissing"}
    world.store.held = True
    fails(world, lambda: world.build(), LockTimeout)
    assert only_event(world, "ctx.build")["result"] == {"status": "error", "error": "LockTimeout"}
    fails(world, lambda: world.build(incremental=True), LockTimeout)
    assert only_event(world, "ctx.sync")["result"]["error"] == "LockTimeout"  # type: ignore[index]
    world.store.held = False
    validate = ValidatePack(
        world.store, world.index, world.reader, world.clock, world.telemetry, world.settings
    )
    fails(world, validate.run, PackMissing)
    assert only_event(world, "ctx.validate")["result"]["status"] == "error"  # type: ignore[index]


def test_successes_still_record_exactly_one_event() -> None:
    world = World(FILES)
    world.build()
    assert [e["cmd"] for e in command_events(world)] == ["ctx.build"]
    world.sink.events.clear()
    world.search("helper")
    assert only_event(world, "ctx.search")["result"]["status"] == "ok"  # type: ignore[index]


def test_stats_records_its_event_and_ignores_failed_commands_in_usage() -> None:
    world = World(FILES)
    world.build()
    world.search("helper")
    with pytest.raises(UnknownChunks):
        world.get(GetRequest(("nope",)))
    with pytest.raises(UsageError):
        world.search("!!!")
    stats = PackStats(world.store, world.index, world.sink, world.clock, world.telemetry)
    report = stats.run()
    assert report.usage is not None
    assert report.usage["failed_searches"] == 1 and report.usage["failed_gets"] == 1
    assert report.usage["searches"] == 1 and report.usage["gets"] == 0
    assert report.usage["zero_hit_searches"] == 0  # the failed search is not a zero-hit one
    event = [e for e in world.sink.events if e["cmd"] == "ctx.stats"]
    assert len(event) == 1 and event[0]["result"] == {"status": "ok", "pack": True}
    assert event[0]["tokens"] == len(report.to_text()) // 4 + (len(report.to_text()) % 4 > 0)
