"""The ``NameIndexStore`` contract over the fake and the SQLite store."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeNameIndexStore
from trifecta.adapters.name_index.store import SqliteNameIndexStore
from trifecta.domain.ports import NameIndexStore

Make = Callable[[Path], NameIndexStore]
STORES: list[Make] = [
    lambda p: FakeNameIndexStore(),
    lambda p: SqliteNameIndexStore(p / "names.sqlite3"),
]

RUN = ("method", "run", "Engine.run", 2, 3)
RUN2 = ("function", "run", "run", 9, 12)
STOP = ("function", "stop", "stop", 1, 1)


@pytest.fixture(params=STORES, ids=["fake", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NameIndexStore]:
    make: Make = request.param
    store = make(tmp_path)
    yield store
    if isinstance(store, SqliteNameIndexStore):
        store.close()


def test_empty_store(store: NameIndexStore) -> None:
    assert store.stamps() == {} and store.lookup("run") == []


def test_update_then_lookup_by_name_in_path_and_line_order(store: NameIndexStore) -> None:
    store.update({"b.py": ((10, 5), [RUN2, STOP]), "a.py": ((40, 7), [RUN])}, ())
    assert store.stamps() == {"a.py": (40, 7), "b.py": (10, 5)}
    assert store.lookup("run") == [("a.py", RUN), ("b.py", RUN2)]
    assert store.lookup("stop") == [("b.py", STOP)]
    assert store.lookup("nope") == []


def test_changed_files_replace_their_rows_and_removed_files_go(store: NameIndexStore) -> None:
    store.update({"a.py": ((40, 7), [RUN]), "b.py": ((10, 5), [RUN2])}, ())
    store.update({"a.py": ((41, 8), [STOP])}, ["b.py"])
    assert store.stamps() == {"a.py": (41, 8)}
    assert store.lookup("run") == []
    assert store.lookup("stop") == [("a.py", STOP)]


@pytest.mark.parametrize("garbage", [b"not a database at all" * 100, b"SQLite format 3\x00junk"])
def test_corrupt_sqlite_store_is_rebuilt(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "names.sqlite3"
    path.write_bytes(garbage)
    store = SqliteNameIndexStore(path)
    assert store.stamps() == {}
    store.update({"a.py": ((1, 1), [RUN])}, ())
    assert store.lookup("run") == [("a.py", RUN)]
    store.close()


def test_unwritable_location_is_an_empty_store(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    store = SqliteNameIndexStore(tmp_path / "file" / "names.sqlite3")  # parent is a file
    store.update({"a.py": ((1, 1), [RUN])}, ())
    assert store.stamps() == {} and store.lookup("run") == []


def test_two_connections_see_each_others_updates(tmp_path: Path) -> None:
    first = SqliteNameIndexStore(tmp_path / "names.sqlite3")
    second = SqliteNameIndexStore(tmp_path / "names.sqlite3")
    first.update({"a.py": ((1, 1), [RUN])}, ())
    assert second.lookup("run") == [("a.py", RUN)]
    second.update({}, ["a.py"])
    assert first.stamps() == {}
    first.close()
    second.close()


def test_a_locked_store_is_degraded_never_discarded(tmp_path: Path) -> None:
    path = tmp_path / "names.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE keep(x)")
    other.execute("INSERT INTO keep VALUES (1)")
    other.execute("BEGIN EXCLUSIVE")  # another process holds the database past our wait
    try:
        assert SqliteNameIndexStore(path).stamps() == {}  # degraded to empty, no exception
    finally:
        other.execute("COMMIT")
        other.close()
    again = sqlite3.connect(path)
    try:
        assert again.execute("SELECT x FROM keep").fetchall() == [(1,)]  # not deleted
    finally:
        again.close()
