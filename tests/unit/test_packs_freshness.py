"""Freshness checks on fakes: stat first, hash decides, listing only when needed."""

from __future__ import annotations

import threading

import pytest

from tests.fakes import FakeClock, FakeFileReader, FakeSearchIndex
from tests.fakes.files import FakeChangeFeed
from trifecta.application.packs.freshness import (
    MAX_REHASH,
    WATCH_LOCAL_RECHECK_NS,
    WATCH_RECHECK_NS,
    Freshness,
    WatchedFreshness,
    check_freshness,
    index_check,
    index_freshness,
)
from trifecta.domain.model import FileEntry, ReadMode
from trifecta.domain.packs import DirStamp, IndexInfo, PackState, SourceFile


def state_of(reader: FakeFileReader, dirs: tuple[DirStamp, ...] = ()) -> PackState:
    files = []
    for path in sorted(reader.files):
        text = reader.read_text(path)
        entry = reader.stat(path)
        assert entry is not None
        files.append(SourceFile(path, entry.size, entry.mtime_ns, text.sha256))
    reader.counts = {m: 0 for m in ReadMode}
    return PackState(tuple(files), dirs)


def test_unchanged_files_cost_no_reads() -> None:
    reader = FakeFileReader({"a.py": "x = 1\n", "b.py": "y = 2\n"})
    fresh = check_freshness(reader, state_of(reader), ("**/*.py",), ())
    assert not fresh.stale and fresh.cache_hit_rate == 1.0
    assert sum(reader.bytes_read().values()) == 0


def test_touched_file_is_rehashed_and_fresh_edited_file_is_changed() -> None:
    reader = FakeFileReader({"a.py": "x = 1\n", "b.py": "y = 2\n"})
    state = state_of(reader)
    reader.mtimes["a.py"] += 1
    reader.write("b.py", "y = 3\n")
    fresh = check_freshness(reader, state, ("**/*.py",), ())
    assert fresh.changed == ("b.py",)
    assert fresh.cache_hit_rate == 0.0
    assert fresh.bytes_read == len("x = 1\n") + len("y = 3\n")


def test_many_moved_files_are_reported_without_reading_them() -> None:
    reader = FakeFileReader({f"m{i}.py": f"x = {i}\n" for i in range(MAX_REHASH + 5)})
    state = state_of(reader)
    for path in list(reader.files):
        reader.mtimes[path] += 1
    fresh = check_freshness(reader, state, ("**/*.py",), ())
    assert len(fresh.changed) == MAX_REHASH + 5
    assert fresh.bytes_read == 0


def test_only_paths_limits_the_check_and_skips_the_listing() -> None:
    reader = FakeFileReader({"a.py": "x = 1\n"})
    state = state_of(reader)
    reader.write("new.py", "z = 1\n")
    assert check_freshness(reader, state, ("**/*.py",), ()).new == ("new.py",)
    limited = check_freshness(reader, state, ("**/*.py",), (), only_paths=frozenset({"a.py"}))
    assert limited.new == () and limited.checked == 1 and not limited.stale


def indexed(reader: FakeFileReader, dirs: tuple[DirStamp, ...] = ()) -> FakeSearchIndex:
    index = FakeSearchIndex()
    index.replace(IndexInfo("sha", 1, 1, 0), [], state_of(reader, dirs))
    return index


def test_index_freshness_reads_rows_and_stamps_once_when_nothing_moved() -> None:
    reader = FakeFileReader({"pkg/a.py": "x = 1\n", "pkg/b.py": "y = 2\n"}, dirs=["pkg"])
    index = indexed(reader, (DirStamp("pkg", 1),))
    reader.stat = lambda path: (  # type: ignore[method-assign]
        FileEntry(path, 0, 1) if path == "pkg" else FakeFileReader.stat(reader, path)
    )
    fresh = index_freshness(reader, index, ("**/*.py",), ())
    assert not fresh.stale and fresh.checked == 2 and fresh.cache_hit_rate == 1.0
    assert reader.stamp_calls == 1 and index.state_calls == 0  # no records built


def test_index_freshness_sees_an_edit_a_deletion_and_a_new_file() -> None:
    reader = FakeFileReader({"a.py": "x = 1\n", "b.py": "y = 2\n", "c.py": "z = 3\n"})
    index = indexed(reader)  # no directory recorded: the root is listed again
    reader.write("a.py", "x = 2\n")
    del reader.files["b.py"]
    reader.write("new.py", "n = 1\n")
    fresh = index_freshness(reader, index, ("**/*.py",), ())
    assert (fresh.changed, fresh.deleted, fresh.new) == (("a.py",), ("b.py",), ("new.py",))
    limited = index_freshness(reader, index, ("**/*.py",), (), only_paths=frozenset({"c.py"}))
    assert limited.checked == 1 and not limited.stale


def watched_world() -> tuple[FakeFileReader, FakeSearchIndex, FakeChangeFeed, FakeClock]:
    reader = FakeFileReader({"pkg/a.py": "x = 1\n"}, dirs=["pkg"])
    index = indexed(reader, (DirStamp("pkg", 1),))
    reader.stat = lambda path: (  # type: ignore[method-assign]
        FileEntry(path, 0, 1) if path == "pkg" else FakeFileReader.stat(reader, path)
    )
    return reader, index, FakeChangeFeed(), FakeClock()


def test_a_watched_check_is_reused_only_while_the_feed_reports_nothing() -> None:
    reader, index, feed, clock = watched_world()
    watched = WatchedFreshness(feed, clock)

    def check() -> Freshness:
        return watched.check(index, "sha", lambda: index_freshness(reader, index, ("**/*.py",), ()))

    assert not check().stale and reader.stamp_calls == 1  # first: a full pass, feed armed
    assert feed.armed == [["pkg"]]
    assert not check().stale and reader.stamp_calls == 1 and watched.reused == 1
    reader.write("pkg/a.py", "x = 2\n")
    feed.touch()  # the edit, as the feed reports it
    assert check().changed == ("pkg/a.py",) and reader.stamp_calls == 2
    assert check().changed == ("pkg/a.py",) and reader.stamp_calls == 3  # stale: never reused
    assert watched.reused == 1


def test_a_watched_check_is_not_reused_for_another_pack_after_the_bound_or_unarmed() -> None:
    reader, index, feed, clock = watched_world()
    watched = WatchedFreshness(feed, clock)

    def check(sha: str = "sha") -> Freshness:
        return watched.check(index, sha, lambda: index_freshness(reader, index, ("**/*.py",), ()))

    check()
    check("another-pack")  # a build elsewhere: the index records another pack
    assert reader.stamp_calls == 2
    clock.advance(WATCH_RECHECK_NS / 1_000_000 + 1)  # past the bound: a full pass again
    check()
    assert reader.stamp_calls == 3
    feed.broken = True  # a watch could not be added: nothing is reused
    check()
    check()
    assert reader.stamp_calls == 5 and watched.reused == 0
    watched.close()
    assert feed.closed


def stat_passes_after(complete: bool, wait_ms: float) -> int:
    """How many stat passes two watched checks ``wait_ms`` apart took (nothing changed)."""

    reader, index, _, clock = watched_world()
    watched = WatchedFreshness(FakeChangeFeed(complete=complete), clock)
    for _ in range(2):
        watched.check(index, "sha", lambda: index_freshness(reader, index, ("**/*.py",), ()))
        clock.advance(wait_ms)
    return reader.stamp_calls


def test_a_feed_that_sees_every_write_vouches_longer() -> None:
    # On a local disk every write is an event: a quiet feed vouches for the last clean check
    # for calls seconds apart (an agent's); a shared folder's only for WATCH_RECHECK_NS.
    assert WATCH_RECHECK_NS < 10_000_000_000 < WATCH_LOCAL_RECHECK_NS
    assert stat_passes_after(complete=True, wait_ms=10_000) == 1
    assert stat_passes_after(complete=False, wait_ms=10_000) == 2
    assert stat_passes_after(complete=True, wait_ms=WATCH_LOCAL_RECHECK_NS / 1_000_000 + 1) == 2


def test_only_the_moved_files_hashes_are_looked_up() -> None:
    reader = FakeFileReader({"a.py": "x = 1\n", "b.py": "y = 2\n", "c.py": "z = 3\n"})
    index = indexed(reader)
    index.stamp_requests.clear()
    assert not index_freshness(reader, index, ("**/*.py",), ()).stale
    assert index.stamp_requests == []  # nothing moved: no hash read
    reader.mtimes["b.py"] += 1  # touched, same content
    reader.write("c.py", "z = 4\n")
    fresh = index_freshness(reader, index, ("**/*.py",), ())
    assert fresh.changed == ("c.py",) and fresh.cache_hit_rate == round(1 / 3, 4)
    assert index.stamp_requests == [frozenset({"b.py", "c.py"})]


def test_a_started_check_stats_on_another_thread_and_reports_its_failure() -> None:
    reader = FakeFileReader({"a.py": "x = 1\n"})
    index = indexed(reader)
    threads: list[threading.Thread] = []
    reader.on_stamps = lambda: threads.append(threading.current_thread())
    wait = index_check(reader, index, ("**/*.py",), ()).start()
    assert not wait().stale
    assert threads and threads[0] is not threading.current_thread()

    def fail() -> None:
        raise OSError("the stat pass failed")

    reader.on_stamps = fail
    wait = index_check(reader, index, ("**/*.py",), ()).start()
    with pytest.raises(OSError, match="the stat pass failed"):
        wait()
