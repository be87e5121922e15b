"""Build and sync on fakes: ingestion order, skips, incremental re-reads, the lock."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.fakes import FakeSearchIndex, FakeSkeletonParser
from tests.unit.packs_world import World
from trifecta.application.packs.build import BuildReport
from trifecta.domain.errors import IndexWriteFailed, LockTimeout
from trifecta.domain.packs import IndexDoc, IndexInfo, PackState
from trifecta.domain.records import replace

FILES: dict[str, bytes | str] = {
    "README.md": "# Project\n\nAbout.\n",
    "_ctx/prime_x.md": "# Prime\n",
    "a.md": "# A\n\ntext\n",
    "src/mod.py": "class Service\n    def run\ndef helper\n",
    "src/latin.py": "x = 'caf\u00e9'\n".encode("latin-1"),
    "src/blob.py": b"\x00\x01binary",
    "src/big.py": "x = 1\n" * 50_000,
}


def build(world: World, incremental: bool = False) -> BuildReport:
    report = world.build(incremental)
    assert isinstance(report, BuildReport)
    return report


def test_build_orders_meta_first_and_reports_skips() -> None:
    world = World(FILES, symlinks={"src/escape.py": "../outside.py"})
    report = build(world)
    pack = world.store.load()
    paths = [f.path for f in pack.source_files]
    assert paths[:2] == ["_ctx/prime_x.md", "README.md"]
    assert [f.meta for f in pack.source_files[:3]] == [True, True, False]
    skipped = {s.path: s.reason for s in report.skipped}
    assert set(skipped) == {"src/blob.py", "src/big.py", "src/escape.py"}
    assert "binary" in skipped["src/blob.py"]
    assert any("src/latin.py" in w and "UTF-8" in w for w in report.warnings)
    assert "src/latin.py" in paths  # lossy files are still served
    ids = {c.id for c in pack.chunks}
    assert {"src/mod.py", "src/mod.py#Service", "src/mod.py#helper", "a.md#a"} <= ids
    assert not any(c.path in skipped for c in pack.chunks)
    assert world.index.replaced == 1 and len(world.index.docs) == len(pack.chunks)


def test_sync_rereads_only_changed_files_and_hash_decides() -> None:
    world = World(FILES)
    build(world)
    world.parser.parsed.clear()
    world.reader.write("src/mod.py", "class Service\n    def run\ndef other\n")
    world.reader.mtimes["a.md"] += 1  # touched, same content
    world.reader.write("new.py", "def fresh\n")
    del world.reader.files["README.md"]
    report = build(world, incremental=True)
    assert report.incremental
    assert sorted(report.read) == ["new.py", "src/mod.py"]
    assert report.removed == ("README.md",)
    assert world.parser.parsed == ["new.py", "src/mod.py"]
    ids = set(world.index.docs)
    assert "src/mod.py#other" in ids and "src/mod.py#helper" not in ids
    assert "new.py#fresh" in ids and not any(i.startswith("README.md") for i in ids)
    assert world.index.updated == 1
    # The touched file's new mtime is recorded, so the next sync reads nothing.
    again = build(world, incremental=True)
    assert again.read == () and again.bytes_read == 0


def test_sync_without_a_pack_builds_in_full() -> None:
    world = World(FILES)
    report = build(world, incremental=True)
    assert not report.incremental and world.index.replaced == 1


def test_sync_after_corruption_rebuilds() -> None:
    world = World(FILES)
    build(world)
    world.store.corrupt()
    report = build(world, incremental=True)
    assert not report.incremental
    assert world.store.load().chunks


def test_a_held_lock_times_out_with_a_clear_error() -> None:
    world = World(FILES)
    world.store.held = True
    with pytest.raises(LockTimeout, match="lock"):
        build(world)


def test_build_emits_a_timed_event() -> None:
    world = World(FILES)
    build(world)
    (event,) = world.events("ctx.build")
    assert isinstance(event["timing_ms"], int) and event["timing_ms"] > 0
    assert event["bytes_read"] == sum(
        len(v) for k, v in FILES.items() if k not in ("src/blob.py", "src/big.py")
    )


def test_a_sync_with_nothing_changed_writes_nothing() -> None:
    world = World(FILES)
    build(world)
    saves, updates = world.store.saves, world.index.updated
    report = build(world, incremental=True)
    assert report.incremental and report.read == () and report.reused == report.files
    assert (world.store.saves, world.index.updated) == (saves, updates)
    assert report.pack_sha == world.store.load_with_sha()[1]


def test_unparseable_python_is_one_module_chunk_with_a_warning() -> None:
    world = World({"bad.py": "def good\n!error\n", "ok.py": "def fine\n"})
    report = build(world)
    ids = sorted(world.index.docs)
    assert ids == ["bad.py", "ok.py", "ok.py#fine"]
    assert any(w.startswith("bad.py: not parsed") for w in report.warnings)


def test_the_tolerant_fallback_recovers_definitions_and_says_so() -> None:
    world = World(
        {"bad.py": "def good\n!error\n"},
        fallback=FakeSkeletonParser("tree_sitter", strict=False),
    )
    report = build(world)
    assert "bad.py#good" in world.index.docs
    assert "bad.py: parsed partially by tree_sitter" in report.warnings


def test_a_comma_file_and_its_underscore_twin_get_distinct_ids_in_build_and_sync() -> None:
    world = World({"pkg/we,ird.py": "def f\n"})
    build(world)
    world.reader.write("pkg/we_ird.py", "def g\n")
    for incremental in (True, False):
        build(world, incremental=incremental)
        ids = [c.id for c in world.store.load().chunks]
        assert len(ids) == len(set(ids))
        assert {"pkg/we%2Cird.py#f", "pkg/we_ird.py#g"} <= set(ids)
        assert set(world.index.docs) == set(ids)


def test_a_sync_never_renames_kept_chunks_and_new_ones_avoid_them() -> None:
    world = World({"a.py#f": "plain text\n"})
    world.builder._settings = replace(world.settings, include=("**/*",))
    build(world)
    assert [c.id for c in world.store.load().chunks] == ["a.py#f"]
    # "a.py" comes first in ingestion order and wants "a.py#f" for its function: the
    # kept chunk keeps its id, the new one gets a suffix.
    world.reader.write("a.py", "def f\n")
    build(world, incremental=True)
    by_id = {c.id: c.path for c in world.store.load().chunks}
    assert by_id == {"a.py#f": "a.py#f", "a.py": "a.py", "a.py#f-2": "a.py"}
    assert set(world.index.docs) == set(by_id)


class FailingIndex(FakeSearchIndex):
    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def replace(self, info: IndexInfo, docs: Sequence[IndexDoc], state: PackState) -> None:
        if self.fail:
            raise IndexWriteFailed("could not write the search index")
        super().replace(info, docs, state)

    def update(
        self,
        info: IndexInfo,
        remove_paths: Sequence[str],
        docs: Sequence[IndexDoc],
        state: PackState,
    ) -> None:
        if self.fail:
            raise IndexWriteFailed("could not update the search index")
        super().update(info, remove_paths, docs, state)


@pytest.mark.parametrize("incremental", [False, True])
def test_an_index_failure_leaves_the_previous_pack_usable(incremental: bool) -> None:
    world = World({"a.py": "def alpha\n"})
    world.index = world.builder._index = FailingIndex()
    build(world)
    before = world.store.data
    world.reader.write("b.py", "def beta\n")
    world.index.fail = True
    with pytest.raises(IndexWriteFailed):
        build(world, incremental=incremental)
    assert world.store.data == before  # the pack was not replaced
    world.index.fail = False
    assert world.search("alpha").hits[0].chunk.id == "a.py#alpha"
