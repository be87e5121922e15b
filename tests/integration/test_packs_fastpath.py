"""The container-free search path agrees with the container's wiring."""

from __future__ import annotations

from pathlib import Path

from trifecta.adapters.jsonl_telemetry.pack_state import read_pack_state
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.application.packs.get import GetRequest
from trifecta.application.packs.search import SearchRequest
from trifecta.bootstrap import build_container
from trifecta.domain.model import ReadMode
from trifecta.embedding import Segment
from trifecta.fastpath import FastPacks, pack_state_from_index


def test_fast_search_matches_the_container(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "context_service.py").write_text("class ContextService:\n    pass\n")
    (tmp_path / "pkg" / "other.py").write_text("def other():\n    return 'context'\n")
    (tmp_path / "_ctx").mkdir()
    (tmp_path / "_ctx" / "trifecta.toml").write_text('[files]\ninclude = ["pkg/*.py"]\n')
    container = build_container(tmp_path)
    container.pack_build().run(False)
    fast = FastPacks(tmp_path)
    request = SearchRequest("ContextService context", 5)
    slow_result = container.pack_search().run(request)
    fast_result = fast.search.run(request)
    assert fast_result.hits == slow_result.hits
    assert fast_result.freshness == slow_result.freshness
    assert fast.telemetry.segment_label == container.telemetry().segment_label
    get = GetRequest(("pkg/context_service.py#ContextService",), ReadMode.SKELETON)
    assert fast.get.run(get).chunks == container.pack_get().run(get).chunks
    assert pack_state_from_index(
        tmp_path, SqliteSearchIndex(tmp_path), JsonPackStore(tmp_path)
    ) == read_pack_state(tmp_path)
    assert fast.settings == container.config()


def test_segment_uses_the_fast_path_and_flushes_its_telemetry(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def alpha():\n    pass\n")
    with Segment(tmp_path) as seg:
        seg.ctx_build()
    with Segment(tmp_path) as seg:
        result = seg.ctx_search(SearchRequest("alpha"))
        assert result.hits[0].chunk.id == "a.py#alpha"
        assert seg._built is None  # no container was built for a plain search
    last_run = (tmp_path / "_ctx" / "telemetry" / "last_run.json").read_text()
    assert "ctx.search" in last_run


def test_fast_path_and_container_record_the_same_failure_events(tmp_path: Path) -> None:
    import json

    import pytest

    from trifecta.domain.errors import UnknownChunks, UsageError

    (tmp_path / "a.py").write_text("def alpha():\n    pass\n")
    container = build_container(tmp_path)
    container.pack_build().run(False)
    fast = FastPacks(tmp_path)
    for use in (fast, container):
        search = fast.search if use is fast else container.pack_search()
        get = fast.get if use is fast else container.pack_get()
        with pytest.raises(UsageError):
            search.run(SearchRequest("!!!"))
        with pytest.raises(UnknownChunks):
            get.run(GetRequest(("nope",)))
    log = (tmp_path / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in log]
    failures = [(e["cmd"], e["args"], e["result"]) for e in events if e["cmd"] != "ctx.build"]
    assert len(failures) == 4 and failures[:2] == failures[2:]
    assert failures[1][2] == {"status": "error", "error": "UnknownChunks"}
