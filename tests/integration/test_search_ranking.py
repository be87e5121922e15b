"""Ranking on the real SQLite index, end to end through the Python API: code above the
tests that paraphrase it, definitions above mentions, method chunks, files, sync = build."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import trifecta
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.domain.errors import PackCorrupt
from trifecta.domain.model import ReadMode
from trifecta.domain.packs import Ranking

RESPONSE = (
    '''"""HTTP responses."""


class ResponseError(Exception):
    """Raised for a bad response."""


class Response:
    """An HTTP response: status, headers, body and the request's extensions."""

    def __init__(self, status, headers, extensions):
        self.status = status
        self.headers = headers
        self.extensions = extensions

'''
    + "".join(
        f"""    def helper_{i}(self, value):
        '''Helper number {i}, about headers and status.'''
        total = value + {i}
        return self.headers.get("x-{i}", total)

"""
        for i in range(12)
    )
    + """    def __getstate__(self):
        # Extensions hold live objects (a stream, a connection): they cannot be pickled.
        state = self.__dict__.copy()
        state.pop("extensions", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.extensions = {}
"""
)

TESTS = """from pkg.response import Response


def test_response_picklable():
    response = Response(200, {}, {"stream": object()})
    assert response.status == 200


def test_response_extensions():
    assert Response(200, {}, {}).extensions == {}


def test_pickle_extensions_response():
    pass


class TestAddSubparsers:
    def test_add_subparsers(self):
        parser = ArgumentParser()
        parser.add_subparsers()
        parser.add_subparsers(dest="x")

    def test_add_subparsers_twice(self):
        ArgumentParser().add_subparsers()
"""

PARSER = (
    '''"""A command-line parser."""


class ArgumentParser:
    """Parses arguments."""

'''
    + "".join(
        f"""    def method_{i}(self, value):
        '''Method {i} of the parser.'''
        return value * {i} + len(str(value))

"""
        for i in range(15)
    )
    + '''    def add_subparsers(self, **kwargs):
        """Sub-commands."""
        return kwargs
'''
)


def make_segment(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "response.py").write_text(RESPONSE)
    (root / "pkg" / "parser.py").write_text(PARSER)
    (root / "tests" / "test_response.py").write_text(TESTS)
    return root


def test_the_code_a_task_is_about_ranks_above_the_tests_that_paraphrase_it(
    tmp_path: Path,
) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
        result = seg.search("Don't pickle request/response extensions", limit=10)
        assert result.hits[0].chunk.path == "pkg/response.py"
        files = seg.search("Don't pickle request/response extensions", limit=2, files=True)
        assert files.files is not None
        assert [f.path for f in files.files] == ["pkg/response.py", "tests/test_response.py"]
        about_tests = seg.search("tests for pickle response extensions", limit=1)
        assert about_tests.hits[0].chunk.path == "tests/test_response.py"


def test_the_chunk_defining_an_identifier_ranks_above_its_mentions(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
        hits = seg.search("add_subparsers", limit=3).hits
        assert hits[0].chunk.id == "pkg/parser.py#ArgumentParser.add_subparsers"
        assert hits[0].chunk.kind == "method"


def test_a_large_class_is_also_cut_into_its_methods_which_get_serves(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
        got = seg.get(["pkg/response.py#Response.__getstate__"], ReadMode.RAW, 500)
        (chunk,) = got.chunks
        assert chunk.text.startswith("    def __getstate__(self):")
        assert "def __setstate__" not in chunk.text
        whole = seg.get(["pkg/response.py#Response"], ReadMode.RAW, 100_000).chunks[0]
        assert "def __setstate__" in whole.text and "def helper_3" in whole.text


def test_rankings_after_a_sync_equal_a_fresh_build_of_the_same_files(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    queries = ["response extensions pickle", "add_subparsers", "headers status helper"]
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
        for i in range(3):  # churn: files come, change and go, then the tree is as before
            (seg_dir / "pkg" / f"extra_{i}.py").write_text(f"def response_{i}():\n    pass\n")
            seg.build(incremental=True)
        for i in range(3):
            (seg_dir / "pkg" / f"extra_{i}.py").unlink()
        seg.build(incremental=True)
        synced = [[(h.chunk.id, h.score) for h in seg.search(q, limit=10).hits] for q in queries]
        seg.build()
        fresh = [[(h.chunk.id, h.score) for h in seg.search(q, limit=10).hits] for q in queries]
    assert synced == fresh
    assert all(synced)


def test_a_generated_file_with_seventy_thousand_definitions_is_chunked(tmp_path: Path) -> None:
    seg_dir = tmp_path / "seg"
    seg_dir.mkdir()
    body = "".join(f"def f{i}(): pass\n" for i in range(70_000))
    assert len(body.encode()) < 2 * 1024 * 1024  # under the default size cap
    (seg_dir / "generated.py").write_text(body)
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        report = seg.build()
        assert report.chunks == 70_001  # every function, plus the module chunk
        assert seg.search("f69999", limit=1).hits[0].chunk.id == "generated.py#f69999"


def test_an_index_of_an_older_schema_is_refused_and_rebuilt_by_a_sync(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
    conn = sqlite3.connect(seg_dir / "_ctx" / "context_index.sqlite")
    with conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    conn.close()
    with (
        trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg,
        pytest.raises(PackCorrupt, match="another version of trifecta"),
    ):
        seg.search("response")
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        report = seg.build(incremental=True)
        assert len(report.read) == 4  # rebuilt in full
        assert seg.search("response").hits


def test_the_demote_setting_decides_which_paths_rank_below_the_code(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    query = "response picklable extensions"
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
        assert seg.search(query, limit=1).hits[0].chunk.path == "pkg/response.py"
    with trifecta.open_segment(
        seg_dir, telemetry={"level": "off"}, search={"demote": ["pkg"]}
    ) as seg:
        seg.build()
        assert seg.search(query, limit=1).hits[0].chunk.path == "tests/test_response.py"


def test_the_index_scales_each_chunk_by_its_length_factor(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
    index = SqliteSearchIndex(seg_dir)
    try:
        plain = {c.id: c.score for c in index.search(["headers"], 50, Ranking())}
        scaled = {c.id: c.score for c in index.search(["headers"], 50, Ranking(length=1.0))}
        tokens = {c.id: c.token_est for c in index.chunks(list(plain))}
    finally:
        index.close()
    assert len(plain) >= 3 and scaled.keys() == plain.keys()
    for chunk_id, score in plain.items():
        factor = max(tokens[chunk_id], 20) / 200.0  # written out: floor 20, pivot 200
        assert scaled[chunk_id] == pytest.approx(score * factor, rel=1e-3, abs=1e-3)
    assert len({tokens[i] for i in plain}) > 1  # chunks of different lengths were compared


def test_an_empty_file_the_query_names_and_the_package_init_are_answers(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path / "seg")
    (seg_dir / "pkg" / "watchdogreload.py").write_text("")  # nothing in it to match
    with trifecta.open_segment(seg_dir, telemetry={"level": "off"}) as seg:
        seg.build()
        query = "Remove watchdogreload.py, added by mistake with the response extensions"
        assert seg.search(query, limit=3).hits[0].chunk.id == "pkg/watchdogreload.py"
        listed = seg.search(query, limit=2, files=True).files
        assert listed is not None and listed[0].path == "pkg/watchdogreload.py"
        alone = seg.search("Remove watchdogreload.py", limit=3)  # no other word matches
        assert [h.chunk.id for h in alone.hits] == ["pkg/watchdogreload.py"]
        assert alone.total_hits == 1
        # pkg/__init__.py is empty too; a query about the top-level names finds it
        exported = seg.search("mark the top-level names of the response as exported", limit=3)
        assert "pkg/__init__.py" in [h.chunk.path for h in exported.hits]
        plain = seg.search("mark the names of the response", limit=3)
        assert "pkg/__init__.py" not in [h.chunk.path for h in plain.hits]
