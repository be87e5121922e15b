"""The SkeletonCache contract, run against the in-memory fake and the real SQLite cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import FakeClock, FakeSkeletonCache
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.domain.model import Skeleton, SkeletonEntry
from trifecta.domain.ports import SkeletonCache
from trifecta.domain.skeleton_codec import encode_skeleton

MAX_BYTES = 4000
MAX_ENTRY = 1500

Factory = Callable[[Path, FakeClock], SkeletonCache]


def make_fake(tmp: Path, clock: FakeClock) -> SkeletonCache:
    return FakeSkeletonCache(max_bytes=MAX_BYTES, max_entry_bytes=MAX_ENTRY)


def make_sqlite(tmp: Path, clock: FakeClock) -> SkeletonCache:
    return SqliteSkeletonCache(
        tmp / "_ctx" / "cache" / "skeletons.sqlite3",
        clock,
        max_bytes=MAX_BYTES,
        max_entry_bytes=MAX_ENTRY,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=[make_fake, make_sqlite], ids=["fake", "sqlite"])
def cache(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> SkeletonCache:
    factory: Factory = request.param
    return factory(tmp_path, clock)


def skeleton(n_entries: int, path: str = "m.py", partial: bool = False) -> Skeleton:
    entries = tuple(
        SkeletonEntry(
            "function", f"f{i}", f"f{i}", f"def f{i}(x: int = {i}) -> str", i + 1, i + 2,
            "Doc é.", ("deco",), 0,
        )
        for i in range(n_entries)
    )  # fmt: skip
    return Skeleton(path, "ast", partial, "Module doc.", entries, 100 * n_entries, lossy=False)


def test_round_trip_is_exact(cache: SkeletonCache) -> None:
    value = skeleton(3)
    assert cache.put("a" * 64, "ast", "1", value)
    assert cache.get("a" * 64, "ast", "1") == value


def test_key_includes_parser_and_version(cache: SkeletonCache) -> None:
    cache.put("a" * 64, "ast", "1", skeleton(1))
    assert cache.get("a" * 64, "ast", "2") is None
    assert cache.get("a" * 64, "tree_sitter", "1") is None
    assert cache.get("b" * 64, "ast", "1") is None


def test_partial_flag_survives(cache: SkeletonCache) -> None:
    cache.put("c" * 64, "tree_sitter", "1", skeleton(2, partial=True))
    got = cache.get("c" * 64, "tree_sitter", "1")
    assert got is not None and got.partial


def test_too_large_value_is_not_stored_and_returns_at_once(cache: SkeletonCache) -> None:
    big = skeleton(40)
    assert len(encode_skeleton(big)) > MAX_ENTRY
    assert cache.put("d" * 64, "ast", "1", big) is False
    assert cache.get("d" * 64, "ast", "1") is None
    assert cache.stats()["entries"] == 0


def test_total_size_is_bounded_least_recently_used_evicted(
    cache: SkeletonCache, clock: FakeClock
) -> None:
    size = len(encode_skeleton(skeleton(15)))
    assert size * 3 < MAX_BYTES < size * 4
    keys = [c * 64 for c in "0123"]
    for key in keys[:3]:
        assert cache.put(key, "ast", "1", skeleton(15))
        clock.advance(1000)
    clock.advance(120_000)  # two minutes later key 0 is read again: it becomes recent
    assert cache.get(keys[0], "ast", "1") is not None
    clock.advance(1000)
    assert cache.put(keys[3], "ast", "1", skeleton(15))
    assert cache.stats()["bytes"] <= MAX_BYTES
    assert cache.get(keys[1], "ast", "1") is None  # the least recently used went first
    assert cache.get(keys[0], "ast", "1") is not None
    assert cache.get(keys[3], "ast", "1") is not None


def test_replacing_a_key_does_not_grow_the_cache(cache: SkeletonCache) -> None:
    for _ in range(5):
        cache.put("e" * 64, "ast", "1", skeleton(2))
    assert cache.stats()["entries"] == 1


def test_sqlite_cache_survives_a_corrupt_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "_ctx" / "cache" / "skeletons.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    cache = SqliteSkeletonCache(path, clock)
    assert cache.get("a" * 64, "ast", "1") is None
    assert cache.put("a" * 64, "ast", "1", skeleton(1))
    assert cache.get("a" * 64, "ast", "1") == skeleton(1)
    assert (path.parent / "skeletons.sqlite3.corrupt").read_bytes().startswith(b"this is not")


def test_sqlite_cache_on_an_unwritable_place_is_a_miss_not_an_error(
    tmp_path: Path, clock: FakeClock
) -> None:
    blocker = tmp_path / "_ctx"
    blocker.write_text("a file where the cache directory should be")
    cache = SqliteSkeletonCache(blocker / "cache" / "skeletons.sqlite3", clock)
    assert cache.put("a" * 64, "ast", "1", skeleton(1)) is False
    assert cache.get("a" * 64, "ast", "1") is None
    assert cache.errors >= 1


def test_sqlite_is_not_opened_until_used(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "_ctx" / "cache" / "skeletons.sqlite3"
    SqliteSkeletonCache(path, clock)
    assert not path.exists()


def test_encoded_values_are_stored_as_put_would_store_them(cache: SkeletonCache) -> None:
    """A build's workers encode the skeletons they parse; the build stores the bytes."""

    small, big = skeleton(3), skeleton(40)
    stored = cache.put_encoded(
        [
            ("f" * 64, "ast", "1", encode_skeleton(small)),
            ("g" * 64, "ast", "1", encode_skeleton(big)),  # over the entry size: not kept
            ("h" * 64, "ast", "1", b"not an encoded skeleton"),
        ]
    )
    assert stored in (1, 2)  # the undecodable value may be kept, never served
    assert cache.get("f" * 64, "ast", "1") == small
    assert cache.get("g" * 64, "ast", "1") is None
    assert cache.get("h" * 64, "ast", "1") is None
