"""A corpus of damaged packs and indexes: search and get say "corrupt" in one line,
validate says invalid, sync rebuilds; never an internal error."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import trifecta
from tests.fault.helpers import assert_clean, cli, make_segment
from trifecta.domain.errors import PackCorrupt

INDEX = "context_index.sqlite"
PACK = "context_pack.json"


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(ctx: Path) -> None:
        conn = sqlite3.connect(ctx / INDEX)
        with conn:
            conn.execute(statement)
        conn.close()

    return damage


def _truncate(ctx: Path) -> None:
    path = ctx / INDEX
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage_index(ctx: Path) -> None:
    (ctx / INDEX).write_bytes(b"this is not a database" * 100)


def _pack(text: str | bytes) -> Callable[[Path], None]:
    def damage(ctx: Path) -> None:
        data = text.encode() if isinstance(text, str) else text
        (ctx / PACK).write_bytes(data)

    return damage


INDEX_DAMAGE = {
    "title_path-not-json": _sql("UPDATE chunks SET title_path = 'not json'"),
    "title_path-not-a-list": _sql("UPDATE chunks SET title_path = '7'"),
    "line_start-text": _sql("UPDATE chunks SET line_start = 'abc'"),
    "token_est-null-ish": _sql("UPDATE chunks SET token_est = 1.5"),
    "sizes-null": _sql("UPDATE files SET size = NULL"),
    "fts-dropped": _sql("DROP TABLE fts"),
    "meta-emptied": _sql("DELETE FROM meta"),
    "meta-count-text": _sql("UPDATE meta SET value = 'x' WHERE key = 'chunk_count'"),
    "truncated": _truncate,
    "garbage": _garbage_index,
}
PACK_DAMAGE = {
    "deeply-nested": _pack("[" * 100_000 + "]" * 100_000),
    "list": _pack("[1, 2, 3]"),
    "chunks-a-string": _pack('{"schema_version": 1, "chunks": "x"}'),
    "truncated": _pack('{"schema_version": 1, "chunks": [{"id": '),
    "not-utf8": _pack(b'{"schema_version": 1, "x": "\xff\xfe"}'),
    "huge-number": _pack('{"schema_version": 1e999}'),
}


# Damage that leaves the chunk rows readable: get still serves them (search cannot).
GET_SERVES = {"fts-dropped"}


def _check(seg_dir: Path, chunk_id: str, damage: str) -> None:
    """In process (the CLI prints a PackCorrupt as its one-line error, exit 1)."""

    seg = trifecta.open_segment(seg_dir)
    try:
        with pytest.raises(PackCorrupt, match="run ctx build"):
            seg.search("helper", limit=5)
        if damage in GET_SERVES:
            assert seg.get([chunk_id]).chunks[0].chunk.id == chunk_id
        else:
            with pytest.raises(PackCorrupt, match="run ctx build"):
                seg.get([chunk_id])
        assert not seg.ctx_validate().ok
        seg.ctx_build(incremental=True)  # sync: rebuilds what it cannot update
        hits = seg.search("helper", limit=5).hits
        assert hits[0].chunk.id == chunk_id
        assert seg.ctx_validate().ok
    finally:
        seg.close()


def _built(tmp_path: Path) -> tuple[Path, str]:
    seg_dir = make_segment(tmp_path)
    with trifecta.open_segment(seg_dir) as seg:
        seg.ctx_build()
        hits = seg.search("helper", limit=5).hits
    return seg_dir, hits[0].chunk.id


@pytest.mark.parametrize("damage", sorted(INDEX_DAMAGE))
def test_a_damaged_index(tmp_path: Path, damage: str) -> None:
    seg, chunk_id = _built(tmp_path)
    INDEX_DAMAGE[damage](seg / "_ctx")
    _check(seg, chunk_id, damage)


@pytest.mark.parametrize("damage", sorted(PACK_DAMAGE))
def test_a_damaged_pack(tmp_path: Path, damage: str) -> None:
    seg, chunk_id = _built(tmp_path)
    PACK_DAMAGE[damage](seg / "_ctx")
    _check(seg, chunk_id, damage)


@pytest.mark.parametrize(
    ("where", "damage"),
    [("index", "line_start-text"), ("index", "fts-dropped"), ("pack", "deeply-nested")],
)
def test_the_cli_reports_damage_in_one_line(tmp_path: Path, where: str, damage: str) -> None:
    seg, _ = _built(tmp_path)
    (INDEX_DAMAGE if where == "index" else PACK_DAMAGE)[damage](seg / "_ctx")
    search = cli(seg, "ctx", "search", "-q", "helper")
    assert_clean(search)
    assert search.returncode == 1
    assert search.stderr.count("\n") == 1 and "corrupt" in search.stderr
    validate = cli(seg, "ctx", "validate")
    assert_clean(validate)
    assert validate.returncode == 1 and "NOT valid" in validate.stdout
    sync = cli(seg, "ctx", "sync")
    assert_clean(sync)
    assert sync.returncode == 0, sync.stderr
