"""The ``NameIndexStore`` contract over the fake and the JSON file store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import FakeNameIndexStore
from trifecta.adapters.name_index.store import JsonNameIndexStore
from trifecta.domain.ports import NameIndexStore, NameTable

Make = Callable[[Path], NameIndexStore]
STORES: list[Make] = [lambda p: FakeNameIndexStore(), lambda p: JsonNameIndexStore(p / "n.json")]

ROW = ("method", "run", "Engine.run", 2, 3)
TABLE: NameTable = {"src/lib/core.py": (40, 123456789, (ROW,)), "empty.py": (0, 1, ())}


@pytest.fixture(params=STORES, ids=["fake", "json"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> NameIndexStore:
    make: Make = request.param
    return make(tmp_path)


def test_empty_store_loads_empty(store: NameIndexStore) -> None:
    assert store.load() == {}


def test_round_trip(store: NameIndexStore) -> None:
    store.save(TABLE)
    assert store.load() == TABLE
    store.save({})
    assert store.load() == {}


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"{",
        b"[]",
        b'{"format": 2, "files": {"a": [1]}}',
        b'{"format": 2, "files": {"a": [1, 2, [["x"]]]}}',
        b'{"format": 1, "files": {}}',
    ],
)
def test_corrupt_json_store_is_empty(tmp_path: Path, garbage: bytes) -> None:
    (tmp_path / "n.json").write_bytes(garbage)
    assert JsonNameIndexStore(tmp_path / "n.json").load() == {}


def test_unwritable_directory_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    JsonNameIndexStore(tmp_path / "file" / "n.json").save(TABLE)  # parent is a file
