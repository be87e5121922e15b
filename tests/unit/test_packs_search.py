"""Search on fakes: freshness, --sync, events and failures (ranking itself is tested on
the real SQLite index: tests/integration/test_search_ranking*.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from tests.fakes import FakeChangeHistory
from tests.unit.packs_world import World
from trifecta.domain.errors import PackCorrupt, PackMissing, UsageError
from trifecta.domain.packs import IndexHit
from trifecta.domain.records import replace

FILES: dict[str, bytes | str] = {
    "src/context_service.py": "class ContextService\n    def build_context\n",
    "src/context.py": "def context\ndef service_context\n",
    "src/service.py": "def service\n",
    "src/other.py": "def unrelated\n",
    "docs/guide.md": "# Context service\n\nThe context service builds context.\n",
}


def test_stale_pack_is_reported_with_changed_new_and_deleted_paths() -> None:
    world = World(FILES)
    world.build()
    world.reader.write("src/context.py", "def context_v2\n")
    world.reader.mtimes["src/service.py"] += 1  # touched only: not stale
    world.reader.write("src/added.py", "def added\n")
    del world.reader.files["src/other.py"]
    result = world.search("context")
    assert result.freshness.stale
    assert result.freshness.changed == ("src/context.py",)
    assert result.freshness.new == ("src/added.py",)
    assert result.freshness.deleted == ("src/other.py",)


def test_sync_flag_refreshes_first() -> None:
    world = World(FILES)
    world.build()
    world.reader.write("src/added.py", "def brand_new_name\n")
    result = world.search("brand_new_name", sync=True)
    assert result.synced is not None
    assert not result.freshness.stale
    assert result.hits[0].chunk.id == "src/added.py#brand_new_name"


def test_event_has_real_timing_tokens_and_freshness_figures() -> None:
    world = World(FILES)
    world.build()
    result = world.search("service")
    (event,) = world.events("ctx.search")
    assert event["timing_ms"] == result.timing_ms and result.timing_ms > 0
    assert event["tokens"] == result.served_tokens > 0
    assert event["cache_hit_rate"] == 1.0
    assert event["disclosure_mode"] == "preview"
    assert event["bytes_read"] == 0


def test_bad_queries_and_missing_or_corrupt_packs() -> None:
    world = World(FILES)
    with pytest.raises(PackMissing):
        world.search("x")
    world.build()
    with pytest.raises(UsageError):
        world.search("!!!")
    world.store.corrupt()
    with pytest.raises(PackCorrupt, match="run ctx build"):
        world.search("context")


def test_a_touched_pack_is_accepted_a_replaced_one_is_not() -> None:
    world = World(FILES)
    world.build()
    pack = world.store.load()
    world.store.save(pack)  # same bytes, new stamp: the index still matches by sha
    assert world.search("context").hits
    world.store.save(replace(pack, warnings=("something else",)))
    with pytest.raises(PackCorrupt, match="pack and index do not match"):
        world.search("context")


def test_event_tokens_are_the_served_hits() -> None:
    world = World({"src/service.py": "def service\n"})
    world.build()
    text = world.search("service")
    tokens = [e["tokens"] for e in world.events("ctx.search")]
    # Hits: "src/service.py#service service def service" (41 chars -> 11 tokens) and
    # "src/service.py src.service <preview>" of the module chunk.
    per_hit = [(len(f"{h.chunk.id} {h.chunk.title} {h.preview}") + 3) // 4 for h in text.hits]
    assert [h.chunk.id for h in text.hits] == ["src/service.py#service", "src/service.py"]
    assert per_hit[0] == 11
    assert tokens == [sum(per_hit)]


def test_when_the_naming_words_match_nothing_the_task_words_are_searched() -> None:
    world = World({**FILES, "src/support.py": "def add_support\n"})
    world.build()
    result = world.search("Add asyncio support")  # no chunk holds "asyncio"
    assert result.hits and result.hits[0].chunk.path == "src/support.py"
    assert "support" in result.terms
    assert world.search("Add context support").terms == ("context",)  # found: not widened


def _files(hits: Sequence[IndexHit]) -> list[str]:
    return list(dict.fromkeys(h.chunk.path for h in hits))


def test_a_build_records_the_history_and_search_prefers_the_files_it_changed() -> None:
    twins: dict[str, bytes | str] = {"src/alpha.py": "def parse\n", "src/omega.py": "def parse\n"}
    history = FakeChangeHistory()
    plain = World(twins)
    plain.build()
    assert _files(plain.search("parse").hits) == ["src/alpha.py", "src/omega.py"]
    world = World(twins, history=history)
    history.commit(["src/omega.py"])
    world.build()
    assert history.records == 1 and history.recent_changes() == {"src/omega.py": 1}
    assert _files(world.search("parse").hits) == ["src/omega.py", "src/alpha.py"]
    world.build(incremental=True)  # a sync asks again; nothing moved, nothing recorded
    assert history.records == 2 and history.recorded_at == 1


def test_the_stat_pass_runs_while_the_index_is_queried() -> None:
    world = World(FILES)
    world.build()
    queried = threading.Event()
    seen: list[tuple[bool, bool]] = []
    world.index.on_search = queried.set
    # The stat pass waits (bounded) for the full-text query: run one after the other, the
    # query would never start and the wait would time out.
    world.reader.on_stamps = lambda: seen.append(
        (threading.current_thread() is not threading.main_thread(), queried.wait(20))
    )
    result = world.search("context")
    assert seen == [(True, True)]
    assert result.hits and not result.freshness.stale


def test_a_file_the_query_names_answers_it_though_its_text_holds_none_of_the_words() -> None:
    world = World({**FILES, "src/watchdogreload.py": "def unrelated\n"})
    world.build()
    query = "Removed watchdogreload.py that was added to the context service by mistake"
    assert _files(world.search(query).hits)[0] == "src/watchdogreload.py"
    # without the mention the file has nothing to do with the query
    assert "src/watchdogreload.py" not in _files(world.search("context service").hits)


def test_a_query_about_the_top_level_names_lifts_the_package_init() -> None:
    files: dict[str, bytes | str] = {
        "pkg/__init__.py": "def version\n",
        "pkg/sub/__init__.py": "def helper\n",
        "pkg/errors.py": "class ParseError\n",
        "tests/__init__.py": "def fixture\n",
    }
    world = World(files)
    world.build()
    found = _files(world.search("Export ParseError from the top-level package").hits)
    assert found == ["pkg/__init__.py", "pkg/errors.py"]
    assert _files(world.search("Export ParseError from the errors module").hits) == [
        "pkg/errors.py"
    ]


def test_a_named_file_answers_a_query_nothing_else_matches() -> None:
    world = World({**FILES, "src/watchdogreload.py": "def unrelated\n"})
    world.build()
    result = world.search("Remove watchdogreload.py")
    assert _files(result.hits) == ["src/watchdogreload.py"]
    assert result.total_hits == 1  # the joined chunk is counted with the matches


def test_a_named_file_that_matches_weakly_still_ranks_first() -> None:
    files: dict[str, bytes | str] = {
        **FILES,
        "src/reload.py": "def unrelated\ndef context_hint\n",  # one weak word
    }
    world = World(files)
    world.build()
    query = "Move the context service out of reload.py"
    assert _files(world.search(query).hits)[0] == "src/reload.py"


def test_the_demote_setting_decides_which_named_file_is_code() -> None:
    files: dict[str, bytes | str] = {
        "tests/utils.py": "def helper\n",
        "src/pkg/utils.py": "def helper\n",
        "src/pkg/other.py": "def context\n",
    }
    world = World(files)
    world.build()
    assert _files(world.search("context in utils.py").hits)[0] == "src/pkg/utils.py"
    world.settings = replace(world.settings, demote=())
    assert _files(world.search("context in utils.py").hits)[0] == "tests/utils.py"


def test_total_hits_counts_a_named_file_that_also_matches_once() -> None:
    files: dict[str, bytes | str] = {f"src/m{i:03}.py": "def widget\n" for i in range(220)}
    files["src/target.py"] = "def widget_helper\n"  # matches, but outside the best 200
    world = World(files)
    world.build()
    plain = world.search("widget", limit=3)
    named = world.search("widget in target.py", limit=3)
    assert _files(named.hits)[0] == "src/target.py"
    # its outline chunk joined from outside the best 200, but it holds "widget": counted
    # once, with the other matches ("target" is a word of its path, not of its chunks)
    assert named.total_hits == plain.total_hits == 2 * 221
