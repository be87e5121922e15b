"""Validate and stats on fakes; stats numbers checked against a known event log."""

from __future__ import annotations

from tests.fakes import FakeTelemetrySink
from tests.unit.packs_world import World
from trifecta.application.packs.stats import PackStats
from trifecta.application.packs.validate import ValidatePack
from trifecta.domain.packs import IndexInfo, PackState

FILES: dict[str, bytes | str] = {
    "a.py": "def f\n    pass\n",
    "b.md": "# B\n\ntext\n",
    "c.py": "class C\n    def m\n",
}


def validate(world: World) -> tuple[str, ...]:
    return (
        ValidatePack(
            world.store, world.index, world.reader, world.clock, world.telemetry, world.settings
        )
        .run()
        .problems
    )


def test_fresh_pack_is_valid() -> None:
    world = World(FILES)
    world.build()
    assert validate(world) == ()


def test_drift_missing_new_and_corruption_are_listed() -> None:
    world = World(FILES)
    world.build()
    world.reader.write("a.py", "def f\n    return 1\n")
    del world.reader.files["c.py"]
    world.reader.write("d.py", "def new\n")
    problems = validate(world)
    assert "hash: a.py changed since the build" in problems
    assert any(p.startswith("missing: c.py") for p in problems)
    assert "new: d.py is not in the pack" in problems
    world.store.corrupt()
    (only,) = validate(world)
    assert only.startswith("schema: pack is corrupt")


def test_index_out_of_step_is_reported() -> None:
    world = World(FILES)
    world.build()
    info = world.index.info()
    world.index.update(IndexInfo("other", 1, 1, 0), ["a.py"], [], PackState(()))
    problems = validate(world)
    assert "index: built from another pack (run ctx build)" in problems
    assert any("chunks missing" in p for p in problems)
    assert info.pack_sha != "other"


def known_log() -> FakeTelemetrySink:
    sink = FakeTelemetrySink()
    timings = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    hits = [3, 0, 5, 0, 1, 0, 2, 2, 2, 0]
    queries = ["a", "zz", "b", "zz", "c", "yy", "d", "e", "f", "zz"]
    for ms, n, q in zip(timings, hits, queries, strict=True):
        sink.events.append(
            {"cmd": "ctx.search", "timing_ms": ms, "args": {"query": q}, "result": {"hits": n}}
        )
    for ms in (5, 7, 9):
        sink.events.append({"cmd": "ctx.get", "timing_ms": ms, "args": {}, "result": {}})
    sink.events.append({"cmd": "ctx.build", "timing_ms": 999, "args": {}, "result": {}})
    return sink


def test_stats_from_a_known_event_log() -> None:
    world = World(FILES)
    world.build()
    report = PackStats(world.store, world.index, known_log(), world.clock).run()
    usage = report.usage
    assert usage is not None
    assert usage["searches"] == 10
    assert usage["zero_hit_searches"] == 4 and usage["zero_hit_rate"] == 0.4
    assert usage["search_latency_ms"]["p50_ms"] == 60.0  # sorted[int(0.5*10)]
    assert usage["search_latency_ms"]["p95_ms"] == 100.0  # sorted[min(9, int(9.5))]
    assert usage["top_zero_hit_queries"] == [
        {"query": "zz", "count": 3},
        {"query": "yy", "count": 1},
    ]
    assert usage["gets"] == 3 and usage["get_latency_ms"]["p50_ms"] == 7.0
    pack = report.pack
    assert pack is not None
    assert pack["files"] == 3 and pack["chunks"] == sum(
        f["chunks"] for f in pack["by_kind"].values()
    )
    assert pack["by_kind"]["section"]["chunks"] == 1
    # Each source token counted once: module chunks cover their file, defs are inside them.
    assert pack["tokens"] == sum(
        pack["by_kind"][k]["tokens"] for k in ("module", "section") if k in pack["by_kind"]
    )
    assert pack["tokens"] < sum(f["tokens"] for f in pack["by_kind"].values())
    assert "zero-hit rate 0.4" in report.to_text()


def test_stats_without_pack_or_telemetry() -> None:
    world = World(FILES)
    report = PackStats(world.store, world.index, None, world.clock).run()
    assert report.pack is None and report.usage is None


def test_stats_come_from_the_index_and_agree_with_the_pack() -> None:
    world = World(FILES)
    world.build()
    loads = world.store.loads
    facts = PackStats(world.store, world.index, None, world.clock).run().pack
    assert world.store.loads == loads  # the pack was not parsed for them
    assert facts is not None
    pack = world.store.load()  # the expected figures, counted here from the pack itself
    by_kind: dict[str, dict[str, int]] = {}
    for chunk in pack.chunks:
        entry = by_kind.setdefault(chunk.kind, {"chunks": 0, "tokens": 0})
        entry["chunks"] += 1
        entry["tokens"] += chunk.token_est
    assert facts["by_kind"] == by_kind
    assert facts["chunks"] == len(pack.chunks) and facts["files"] == len(pack.source_files)
    assert facts["meta_files"] == sum(1 for f in pack.source_files if f.meta)
    assert facts["skipped"] == len(pack.skipped) and facts["warnings"] == len(pack.warnings)
    assert (facts["parser"], facts["estimator"]) == (pack.parser, pack.estimator)


def test_stats_fall_back_to_the_pack_when_the_index_is_damaged() -> None:
    world = World(FILES)
    world.build()
    expected = PackStats(world.store, world.index, None, world.clock).run().pack
    world.index.corrupt()
    facts = PackStats(world.store, world.index, None, world.clock).run().pack
    assert facts is not None and expected is not None
    assert {k: v for k, v in facts.items() if k != "index_bytes"} == {
        k: v for k, v in expected.items() if k != "index_bytes"
    }
