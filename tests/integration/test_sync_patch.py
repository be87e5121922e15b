"""A sync writes the pack as a patch of the stored one (the chunks of files it did not cut
again are copied as stored): the bytes must be those a fresh build writes of the same
files, whatever the paths hold (quotes, backslashes, commas, non-ASCII), and a pack whose
layout is not the store's own is still synced (loaded whole)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import trifecta
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.domain.packs import KeptChunks, LoadedPack
from trifecta.domain.records import replace

PACK = Path("_ctx") / "context_pack.json"


def _tree(seg: Path) -> None:
    (seg / "pkg").mkdir(parents=True)
    (seg / "pkg" / "__init__.py").write_text("")
    for i in range(6):
        (seg / "pkg" / f"mod_{i}.py").write_text(
            f'"""Module {i}."""\n\n\nclass Thing{i}:\n    def run(self) -> int:\n'
            f"        return {i}\n\n\ndef helper_{i}() -> int:\n    return {i}\n"
        )
    (seg / 'we"ird\\name, ü.py').write_text('def quoted() -> str:\n    return "\\"{"\n')
    (seg / "README.md").write_text("# Seg\n\nA helper.\n\n## Usage\n\nRun it.\n")
    (seg / "empty.md").write_text("")
    (seg / "docs.md").write_text('## {"id":"fake","path":"x.py"}\n\nLooks like a chunk.\n')


def _fresh_bytes(seg: Path) -> bytes:
    with trifecta.open_segment(seg, telemetry={"level": "off"}) as segment:
        segment.build()
    return (seg / PACK).read_bytes()


def test_a_synced_pack_is_byte_for_byte_a_fresh_build(tmp_path: Path) -> None:
    seg = tmp_path / "seg"
    _tree(seg)
    with trifecta.open_segment(seg, telemetry={"level": "off"}) as segment:
        segment.build()
        # changed, touched only, new (sorting between kept files), new with a taken id,
        # deleted, and a file whose name needs JSON escapes changed
        (seg / "pkg" / "mod_2.py").write_text("def helper_2() -> int:\n    return 22\n")
        os.utime(seg / "pkg" / "mod_4.py", ns=(1, 10**18))
        (seg / "pkg" / "mod_3b.py").write_text("class Thing3b:\n    pass\n")
        (seg / "pkg" / "mod_5.py").unlink()
        (seg / 'we"ird\\name, ü.py').write_text('def quoted() -> str:\n    return "\\\\"\n')
        report = segment.build(incremental=True)
        assert sorted(report.read) == ["pkg/mod_2.py", "pkg/mod_3b.py", 'we"ird\\name, ü.py']
        assert report.removed == ("pkg/mod_5.py",)
        synced = (seg / PACK).read_bytes()
        assert segment.ctx_validate(changed=report.read).ok
        assert segment.ctx_validate().ok
        hits = segment.search("Thing3b", limit=3).hits
        assert hits[0].chunk.id == "pkg/mod_3b.py#Thing3b"
    assert synced == _fresh_bytes(seg)
    chunks = json.loads(synced)["chunks"]
    assert [c["id"] for c in chunks if c["path"] == 'we"ird\\name, ü.py'] == [
        'we"ird\\name%2C ü.py',
        'we"ird\\name%2C ü.py#quoted',
    ]


def test_the_store_locates_each_files_chunks_without_parsing_them(tmp_path: Path) -> None:
    seg = tmp_path / "seg"
    _tree(seg)
    whole = _fresh_bytes(seg)
    stored = JsonPackStore(seg).load_stored()
    assert not isinstance(stored, LoadedPack)
    pack = json.loads(whole)
    expected: dict[str, int] = {}
    for chunk in pack["chunks"]:
        expected[chunk["path"]] = expected.get(chunk["path"], 0) + 1
    assert dict(stored.counts) == expected
    assert "empty.md" not in stored.counts  # a file without chunks
    got = stored.chunks_of(['we"ird\\name, ü.py', "docs.md"])
    assert [(c.path, c.title) for c in got] == [
        ("docs.md", '{"id":"fake","path":"x.py"}'),
        ('we"ird\\name, ü.py', 'we"ird\\name, ü'),
        ('we"ird\\name, ü.py', "quoted"),
    ]
    # every file kept: the same bytes again
    store = JsonPackStore(seg)
    order = list(dict.fromkeys(c["path"] for c in pack["chunks"]))
    store.save_patch(stored, stored.head, [KeptChunks(p) for p in order])
    assert (seg / PACK).read_bytes() == whole
    # a patch with new chunks: what the store then serves from memory is what it wrote
    base = store.load_stored()
    renamed = tuple(replace(c, title="Renamed") for c in base.chunks_of(["pkg/mod_1.py"]))
    parts = [renamed if p == "pkg/mod_1.py" else KeptChunks(p) for p in order]
    store.save_patch(base, base.head, parts)
    in_memory, on_disk = store.load_stored(), JsonPackStore(seg).load_stored()
    assert in_memory.sha == on_disk.sha and dict(in_memory.counts) == dict(on_disk.counts)
    assert in_memory.chunks_of(order) == on_disk.chunks_of(order)
    assert [c.title for c in on_disk.chunks_of(["pkg/mod_1.py"])] == ["Renamed"] * len(renamed)
    # a second patch on the first one (two syncs in one process): still a patch, never the
    # whole pack loaded, and the bytes of the same patch made on a freshly read base
    helper = tuple(replace(c, title="Helper") for c in on_disk.chunks_of(["pkg/mod_3.py"]))
    parts = [helper if p == "pkg/mod_3.py" else KeptChunks(p) for p in order]
    store.save_patch(in_memory, in_memory.head, parts)
    second = (seg / PACK).read_bytes()
    assert not isinstance(store.load_stored(), LoadedPack)
    (seg / PACK).write_bytes(whole)
    other = JsonPackStore(seg)
    fresh_base = other.load_stored()
    renamed_parts = [
        renamed if path == "pkg/mod_1.py" else part for path, part in zip(order, parts, strict=True)
    ]
    other.save_patch(fresh_base, fresh_base.head, renamed_parts)
    assert (seg / PACK).read_bytes() == second


def test_a_pack_of_another_layout_is_loaded_whole_and_patched_alike(tmp_path: Path) -> None:
    seg = tmp_path / "seg"
    _tree(seg)
    whole = _fresh_bytes(seg)
    # the same pack with spaces after separators: valid JSON, not this store's layout
    (seg / PACK).write_bytes(json.dumps(json.loads(whole), ensure_ascii=False).encode())
    store = JsonPackStore(seg)
    stored = store.load_stored()
    assert isinstance(stored, LoadedPack)
    order = list(dict.fromkeys(c["path"] for c in json.loads(whole)["chunks"]))
    store.save_patch(stored, stored.head, [KeptChunks(p) for p in order])
    assert (seg / PACK).read_bytes() == whole
