"""The PackStore contract, run against the fake and the real JSON store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakePackStore
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.domain.errors import IndexWriteFailed, LockTimeout, PackCorrupt, PackMissing
from trifecta.domain.model import SkippedFile
from trifecta.domain.packs import DirStamp, KeptChunks, Pack, PackChunk, SourceFile
from trifecta.domain.ports import PackStore
from trifecta.domain.records import replace

PACK = Pack(
    source_files=(SourceFile("a.py", 10, 123, "ab" * 32, meta=False, lossy=True),),
    chunks=(
        PackChunk("a.py", "a.py", "module", "a", ("a",), 1, 3, "cd" * 32, 3, False, ("f",)),
        PackChunk("a.py#f", "a.py", "function", "f", ("a", "f"), 2, 3, "ef" * 32, 2),
    ),
    skipped=(SkippedFile("blob.py", "binary file refused"),),
    warnings=("a.py: not valid UTF-8, decoded with replacement",),
    directories=(DirStamp("", 5),),
    parser="ast",
)


def corrupt_real(store: PackStore) -> None:
    assert isinstance(store, JsonPackStore)
    store.path.write_text('{"schema_version": 1, "chunks": [')


def corrupt_fake(store: PackStore) -> None:
    assert isinstance(store, FakePackStore)
    store.corrupt()


Maker = Callable[[Path], tuple[PackStore, Callable[[PackStore], None]]]


def make_fake(tmp: Path) -> tuple[PackStore, Callable[[PackStore], None]]:
    return FakePackStore(), corrupt_fake


def make_real(tmp: Path) -> tuple[PackStore, Callable[[PackStore], None]]:
    return JsonPackStore(tmp), corrupt_real


@pytest.fixture(params=[make_fake, make_real], ids=["fake", "json"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[PackStore, Callable[..., None]]:
    maker: Maker = request.param
    return maker(tmp_path)


def test_round_trip_and_sha(store: tuple[PackStore, Callable[..., None]]) -> None:
    s, _ = store
    assert s.stamp() is None
    with pytest.raises(PackMissing):
        s.load()
    sha = s.save(PACK)
    loaded, sha2 = s.load_with_sha()
    assert loaded == PACK and sha == sha2 and len(sha) == 64
    assert s.stamp() is not None


def test_corrupt_pack_is_one_clear_error(store: tuple[PackStore, Callable[..., None]]) -> None:
    s, corrupt = store
    s.save(PACK)
    corrupt(s)
    with pytest.raises(PackCorrupt, match="pack is corrupt, run ctx build"):
        s.load()


def test_lock_is_exclusive_and_bounded(store: tuple[PackStore, Callable[..., None]]) -> None:
    s, _ = store
    with s.lock(100), pytest.raises(LockTimeout):
        other = s if isinstance(s, FakePackStore) else JsonPackStore(s.ctx_dir.parent)  # type: ignore[attr-defined]
        with other.lock(50):
            pass
    with s.lock(100):  # released
        pass


def test_real_lock_waits_for_the_holder(tmp_path: Path) -> None:
    first, second = JsonPackStore(tmp_path), JsonPackStore(tmp_path)
    order: list[str] = []
    held = threading.Event()

    def hold() -> None:
        with first.lock(1000):
            order.append("first")
            held.set()
            time.sleep(0.2)
            order.append("releasing")

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    with second.lock(5000):
        order.append("second")
    thread.join()
    assert order == ["first", "releasing", "second"]


def test_save_is_atomic_no_temp_files_left(tmp_path: Path) -> None:
    s = JsonPackStore(tmp_path)
    s.save(PACK)
    s.save(PACK)
    assert sorted(p.name for p in (tmp_path / "_ctx").iterdir()) == ["context_pack.json"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(line_start="3"),
        lambda c: c.pop("sha256"),
        lambda c: c.update(title_path="not a list"),
        lambda c: c.update(symbols=[1, 2]),
    ],
)
def test_a_chunk_of_the_wrong_shape_is_corrupt(tmp_path: Path, mutate: Any) -> None:
    import json

    store = JsonPackStore(tmp_path)
    store.save(PACK)
    data = json.loads(store.path.read_text())
    mutate(data["chunks"][0])
    store.path.write_text(json.dumps(data))
    with pytest.raises(PackCorrupt, match="run ctx build"):
        store.load()


def test_save_before_commit_sees_the_final_sha_and_stamp(
    store: tuple[PackStore, Callable[..., None]],
) -> None:
    s, _ = store
    seen: list[tuple[str, tuple[int, int]]] = []
    sha = s.save(PACK, lambda sha, stamp: seen.append((sha, stamp)))
    assert seen == [(sha, s.stamp())]


def test_save_keeps_the_old_pack_when_before_commit_fails(
    store: tuple[PackStore, Callable[..., None]],
) -> None:
    s, _ = store
    old_sha = s.save(PACK)
    old_stamp = s.stamp()
    changed = replace(PACK, parser="other")

    def fail(sha: str, stamp: tuple[int, int]) -> None:
        raise IndexWriteFailed("index broke")

    with pytest.raises(IndexWriteFailed):
        s.save(changed, fail)
    loaded, sha = s.load_with_sha()
    assert loaded == PACK and sha == old_sha and s.stamp() == old_stamp


def test_a_writer_gives_the_pack_save_gives(store: tuple[PackStore, Any]) -> None:
    s, _ = store
    expected_sha = s.save(PACK)
    expected = s.load()
    seen: list[str] = []
    writer = s.writer()
    try:
        writer.add(PACK.chunks[:1])
        writer.add(())  # a file without chunks
        writer.add(PACK.chunks[1:])
        sha = writer.commit(replace(PACK, chunks=()), lambda sha, stamp: seen.append(sha))
    finally:
        writer.close()
    assert sha == expected_sha and seen == [sha]
    assert s.load() == expected
    dropped = s.writer()
    dropped.add(PACK.chunks[:1])
    dropped.close()  # never committed: the stored pack stays
    assert s.load() == expected


def test_a_patch_keeps_stored_chunks_and_adds_new_ones(store: tuple[PackStore, Any]) -> None:
    s, _ = store
    s.save(PACK)
    base = s.load_stored()
    assert dict(base.counts) == {"a.py": 2} and base.head.chunks == ()
    assert base.chunks_of(["a.py"]) == list(PACK.chunks)
    new = PackChunk("b.py", "b.py", "module", "b", ("b",), 1, 1, "00" * 32, 1)
    head = replace(PACK, source_files=(*PACK.source_files, SourceFile("b.py", 1, 2, "11" * 32)))
    s.save_patch(base, head, [KeptChunks("a.py"), (new,)])
    assert s.load() == replace(head, chunks=(*PACK.chunks, new))
