"""The SearchIndex contract, run against the fake and the real SQLite FTS5 index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import FakeSearchIndex
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.application.packs.chunking import chunk_markdown
from trifecta.application.packs.tokens import index_terms, query_terms
from trifecta.domain.errors import PackCorrupt, PackMissing
from trifecta.domain.packs import DirStamp, IndexDoc, IndexInfo, PackChunk, PackState, SourceFile
from trifecta.domain.ports import SearchIndex
from trifecta.domain.records import replace


def doc(chunk_id: str, path: str, title: str, symbols: str, body: str) -> IndexDoc:
    chunk = PackChunk(
        chunk_id,
        path,
        "function",
        title,
        (title,),
        1,
        2,
        "0" * 64,
        5,
        False,
        tuple(symbols.split()),
    )
    return IndexDoc(
        chunk,
        index_terms(path),
        index_terms(title),
        index_terms(symbols),
        index_terms(body),
        body[:20],
    )


DOCS = [
    doc(
        "src/context_service.py#ContextService",
        "src/context_service.py",
        "ContextService",
        "ContextService",
        "class ContextService: builds things",
    ),
    doc("src/a.py#f", "src/a.py", "f", "f", "the context of the service is in context"),
    doc("src/b.py#g", "src/b.py", "g", "g", "service service service"),
    doc("src/c.py#same", "src/c.py", "same", "same", "unique words here"),
    doc("src/d.py#same", "src/d.py", "same", "same", "unique words here"),
]
INFO = IndexInfo("sha1", 10, 20, len(DOCS))
STATE = PackState((SourceFile("src/a.py", 1, 2, "0" * 64),))


def make_fake(tmp: Path) -> SearchIndex:
    return FakeSearchIndex()


def make_real(tmp: Path) -> SearchIndex:
    return SqliteSearchIndex(tmp)


@pytest.fixture(params=[make_fake, make_real], ids=["fake", "sqlite"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> SearchIndex:
    factory: Callable[[Path], SearchIndex] = request.param
    return factory(tmp_path)


def test_missing_index_is_pack_missing(index: SearchIndex) -> None:
    with pytest.raises(PackMissing):
        index.info()


def test_replace_then_read_back(index: SearchIndex) -> None:
    index.replace(INFO, DOCS, STATE)
    assert index.info() == INFO
    assert index.state() == STATE
    assert index.chunk_ids() == [d.chunk.id for d in DOCS]
    assert index.chunks(["src/b.py#g", "nope", "src/a.py#f"]) == [DOCS[2].chunk, DOCS[1].chunk]


def test_kinds_count_the_chunks_and_their_tokens(index: SearchIndex) -> None:
    with pytest.raises(PackMissing):
        index.kinds()
    index.replace(INFO, DOCS, STATE)
    expected: dict[str, tuple[int, int]] = {}
    for d in DOCS:  # counted here from the documents given
        n, tokens = expected.get(d.chunk.kind, (0, 0))
        expected[d.chunk.kind] = (n + 1, tokens + d.chunk.token_est)
    assert index.kinds() == expected
    index.update(INFO, ["src/b.py"], [], STATE)
    assert sum(n for n, _ in index.kinds().values()) == len(DOCS) - sum(
        1 for d in DOCS if d.chunk.path == "src/b.py"
    )


def test_a_files_outline_chunk_is_its_module_or_document_else_its_first(
    index: SearchIndex,
) -> None:
    def at(d: IndexDoc, kind: str, line: int) -> IndexDoc:
        return replace(d, chunk=replace(d.chunk, kind=kind, line_start=line, line_end=line + 1))

    docs = [
        at(doc("m.py#f", "m.py", "f", "f", "x"), "function", 1),
        at(doc("m.py", "m.py", "m", "", "x"), "module", 1),
        at(doc("n.py#B", "n.py", "B", "B", "x"), "class", 9),
        at(doc("n.py#A", "n.py", "A", "A", "x"), "class", 3),
        at(doc("g.md#s", "g.md", "s", "", "x"), "section", 2),
        at(doc("g.md", "g.md", "g", "", "x"), "document", 1),
    ]
    index.replace(IndexInfo("sha1", 10, 20, len(docs)), docs, STATE)
    outline = index.outline_chunks(["n.py", "m.py", "g.md", "gone.py"])
    assert outline == {"m.py": "m.py", "n.py": "n.py#A", "g.md": "g.md"}
    assert index.outline_chunks([]) == {}


def test_files_named_are_the_recorded_files_with_that_last_component(
    index: SearchIndex,
) -> None:
    recorded = [
        "app.py",
        "src/App.py",
        "src/xapp.py",
        "src/app.py/x.py",
        "docs/Écran.py",
        "b/c.py",
        "d/x_y.py",
        "d/xzy.py",
        "d/100%.py",
    ]
    state = PackState(tuple(SourceFile(p, 1, 2, "0" * 64) for p in recorded))
    index.replace(INFO, DOCS, state)
    assert index.files_named(["app.py"]) == ["app.py", "src/App.py"]  # case-insensitive
    assert index.files_named(["écran.py", "c.py"]) == ["b/c.py", "docs/Écran.py"]
    assert index.files_named(["x_y.py", "100%.py"]) == ["d/100%.py", "d/x_y.py"]
    assert index.files_named(["nothing.py"]) == []
    assert index.files_named([]) == []
    many = [f"f{i}.py" for i in range(600)] + ["c.py"]  # past SQLite's expression depth
    assert index.files_named(many) == ["b/c.py"]


def test_matches_can_be_counted_among_given_chunks(index: SearchIndex) -> None:
    index.replace(INFO, DOCS, STATE)
    terms = query_terms("ContextService")
    assert index.count_matches(terms) == 3
    ids = ["src/a.py#f", "src/c.py#same", "src/context_service.py#ContextService", "nope"]
    assert index.count_matches(terms, ids) == 2
    assert index.count_matches(terms, []) == 0


def test_identifier_in_path_and_symbols_outranks_body_mentions(index: SearchIndex) -> None:
    index.replace(INFO, DOCS, STATE)
    hits = index.search(query_terms("ContextService"), 5)
    assert hits[0].id == "src/context_service.py#ContextService"
    assert hits[0].path == "src/context_service.py"
    assert index.count_matches(query_terms("ContextService")) == 3


def test_scores_descend_and_ties_break_by_id(index: SearchIndex) -> None:
    index.replace(INFO, DOCS, STATE)
    hits = index.search(query_terms("unique words"), 5)
    assert [h.id for h in hits] == ["src/c.py#same", "src/d.py#same"]
    assert hits[0].score == hits[1].score > 0
    everything = index.search(query_terms("service context same"), 10)
    keys = [(-h.score, h.id) for h in everything]
    assert keys == sorted(keys)


def test_update_removes_and_adds_by_path(index: SearchIndex) -> None:
    index.replace(INFO, DOCS, STATE)
    added = chunk_markdown("docs/new.md", "# Fresh heading\n\nbrand new words\n")
    info = IndexInfo("sha2", 11, 21, 4 + len(added))
    index.update(info, ["src/b.py"], added, PackState(()))
    assert index.info().pack_sha == "sha2"
    assert "src/b.py#g" not in index.chunk_ids()
    assert index.search(query_terms("brand"), 5)[0].id == "docs/new.md#fresh-heading"
    assert index.state() == PackState(())


def test_hits_return_chunks_with_previews_and_the_given_scores_in_order(
    index: SearchIndex,
) -> None:
    index.replace(INFO, DOCS, STATE)
    hits = index.hits([("src/b.py#g", 2.5), ("nope", 9.0), ("src/a.py#f", 1.0)])
    assert [(h.chunk, h.score) for h in hits] == [(DOCS[2].chunk, 2.5), (DOCS[1].chunk, 1.0)]
    assert hits[0].preview == DOCS[2].preview


def test_no_match_is_empty(index: SearchIndex) -> None:
    index.replace(INFO, DOCS, STATE)
    assert index.search(["zzzz"], 5) == []
    assert index.count_matches(["zzzz"]) == 0


def test_garbage_index_file_is_corrupt(tmp_path: Path) -> None:
    (tmp_path / "_ctx").mkdir()
    (tmp_path / "_ctx" / "context_index.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(PackCorrupt, match="run ctx build"):
        SqliteSearchIndex(tmp_path).info()


def test_a_writer_adds_documents_as_they_come_and_commits_atomically(
    index: SearchIndex,
) -> None:
    odd = doc('we"ird\\ü.py#f', 'we"ird\\ü.py', 'ti"tle\\ü\u2028', 'a"b ü\\c', "odd body")
    writer = index.writer()
    try:
        writer.add(DOCS[:2])
        with pytest.raises(PackMissing):  # nothing is seen before the commit
            index.info()
        writer.add([*DOCS[2:], odd])
        writer.commit(IndexInfo("sha1", 10, 20, len(DOCS) + 1), STATE)
    finally:
        writer.close()
    assert index.info().chunk_count == len(DOCS) + 1
    assert index.chunks([odd.chunk.id, DOCS[0].chunk.id]) == [odd.chunk, DOCS[0].chunk]
    dropped = index.writer()
    dropped.add(DOCS[:1])
    dropped.close()  # never committed: the index stays as it was
    assert index.info().chunk_count == len(DOCS) + 1
    if isinstance(index, SqliteSearchIndex):
        # The PackMissing above keeps this object in a reference cycle (its traceback's
        # frames): release the connection now, not whenever the collector runs (the
        # descriptor test counts open files).
        index.close()


def test_stamps_are_the_recorded_state_as_rows(index: SearchIndex) -> None:
    state = PackState(
        (SourceFile("src/b.py", 3, 4, "1" * 64), SourceFile("src/a.py", 1, 2, "0" * 64)),
        (DirStamp("src", 7), DirStamp("", 5)),
    )
    index.replace(INFO, DOCS, state)
    files = sorted(state.files, key=lambda f: f.path)
    assert index.file_stamps() == [(f.path, f.size, f.mtime_ns, f.sha256) for f in files]
    some = {files[-1].path, "not/recorded.py"}
    assert index.file_stamps(some) == [
        (f.path, f.size, f.mtime_ns, f.sha256) for f in files if f.path in some
    ]
    assert index.file_stats() == [(f.path, f.size, f.mtime_ns) for f in files]
    assert index.dir_stamps() == [("", 5), ("src", 7)]


def test_sqlite_stamps_follow_writes_by_this_and_other_connections(tmp_path: Path) -> None:
    ours, theirs = SqliteSearchIndex(tmp_path), SqliteSearchIndex(tmp_path)
    ours.replace(INFO, DOCS, STATE)
    assert ours.file_stats() == [("src/a.py", 1, 2)]  # read, and kept
    moved = PackState((SourceFile("src/a.py", 5, 6, "1" * 64),), (DirStamp("src", 9),))
    theirs.update(INFO, [], [], moved)  # another connection commits
    assert ours.file_stats() == [("src/a.py", 5, 6)]
    assert ours.file_stamps() == [("src/a.py", 5, 6, "1" * 64)]
    assert ours.dir_stamps() == [("src", 9)]
    ours.update(INFO, [], [], STATE)  # this connection's own commit
    assert ours.file_stats() == [("src/a.py", 1, 2)] and ours.dir_stamps() == []
    assert ours.file_stamps() == [("src/a.py", 1, 2, "0" * 64)]
    ours.file_stats().clear()  # callers get copies
    assert len(ours.file_stats()) == 1
    ours.close()
    theirs.close()


def _many(n: int) -> list[IndexDoc]:
    return [doc(f"src/m{i}.py#f", f"src/m{i}.py", "f", "f", f"body {i}") for i in range(n)]


def _damage(tmp_path: Path, statement: str, *args: object) -> None:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "_ctx" / "context_index.sqlite")
    with conn:
        conn.execute(statement, args)
    conn.close()


def test_the_pre_update_check_samples_a_damaged_row_is_found_where_read(tmp_path: Path) -> None:
    """``check`` (a sync's, before every update) reads a sample of rows, not all: damage to
    the whole table is caught; one damaged row off the sample is caught where it is read."""

    docs = _many(1000)
    index = SqliteSearchIndex(tmp_path)
    index.replace(IndexInfo("sha1", 10, 20, len(docs)), docs, STATE)
    index.check()
    index.close()
    # One row between two sample points (rowids 1..1000, points every ~125): unseen.
    _damage(tmp_path, "UPDATE chunks SET line_start = 'x' WHERE id = ?", "src/m60.py#f")
    index = SqliteSearchIndex(tmp_path)
    index.check()
    with pytest.raises(PackCorrupt, match="run ctx build"):
        index.chunks(["src/m60.py#f"])
    index.close()
    # Every row: the sample sees it.
    _damage(tmp_path, "UPDATE chunks SET symbols = 'not a list'")
    index = SqliteSearchIndex(tmp_path)
    with pytest.raises(PackCorrupt, match="run ctx build"):
        index.check()
    index.close()


def test_the_index_preselects_more_rows_than_the_ranking_keeps() -> None:
    # the factors (x0.35 .. x2.5) reorder the preselected rows; the ranking's candidates
    # are taken from them, so there must be more of them than candidates
    from trifecta.adapters.sqlite_index.index import PRESELECT
    from trifecta.application.packs.ranking import CANDIDATES

    assert PRESELECT > CANDIDATES
