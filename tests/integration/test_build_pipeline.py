"""The build pipeline on real files and processes: parallel workers, sync proportional to
the change, freshness without a re-walk, git's ignore rules, skipped directories reported,
progress on a terminal and through the embedding API."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pytest

from trifecta.adapters.build.listing import LocalSegmentLister
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.pack_store.json_store import JsonPackStore
from trifecta.adapters.sqlite_index.index import SqliteSearchIndex
from trifecta.api import Segment
from trifecta.application.packs.build import BuildProgress
from trifecta.application.packs.freshness import check_freshness
from trifecta.domain.listing import SegmentListing
from trifecta.domain.packs import Pack, PackChunk, SourceFile, pack_to_dict

ENV = {**os.environ, "TRIFECTA_TELEMETRY": "lite"}


def run(segment: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "trifecta", "--segment", str(segment), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env=ENV,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    return proc


def run_json(segment: Path, *args: str) -> Any:
    return json.loads(run(segment, *args, "--json").stdout)


def make_tree(seg: Path, modules: int = 40) -> None:
    for package in ("alpha", "beta"):
        (seg / package).mkdir(parents=True)
        for i in range(modules // 2):
            (seg / package / f"mod_{i}.py").write_text(
                f'"""Module {i} of {package}."""\n\n\ndef helper():\n    return {i}\n\n\n'
                f"def helper():\n    return -{i}\n\n\nclass Thing{i}:\n    def run(self):\n"
                f"        return helper()\n"
            )
    (seg / "README.md").write_text("# Tree\n\nA test tree.\n\n## Usage\n\nRun it.\n")


def stamps(seg: Path) -> tuple[int, int]:
    ctx = seg / "_ctx"
    return (
        (ctx / "context_pack.json").stat().st_mtime_ns,
        (ctx / "context_index.sqlite").stat().st_mtime_ns,
    )


def git(seg: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=seg, check=True, capture_output=True, timeout=60)


# ---- parallel build ---------------------------------------------------------------------------


def test_parallel_build_gives_the_serial_pack_and_index(tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    make_tree(serial)
    make_tree(parallel)
    run(serial, "ctx", "build", "--jobs", "1")
    run(parallel, "ctx", "build", "--jobs", "2")
    one = json.loads((serial / "_ctx" / "context_pack.json").read_text())
    two = json.loads((parallel / "_ctx" / "context_pack.json").read_text())
    for pack in (one, two):
        pack.pop("directories")
        for f in pack["source_files"]:
            f.pop("mtime_ns")
    assert one == two
    ids = [c["id"] for c in one["chunks"]]
    assert "alpha/mod_3.py#helper" in ids and "alpha/mod_3.py#helper-2" in ids
    assert len(ids) == len(set(ids)) == 40 * 4 + 2
    for seg in (serial, parallel):
        assert run_json(seg, "ctx", "validate")["ok"] is True
        hits = run_json(seg, "ctx", "search", "-q", "Thing7")["hits"]
        assert hits[0]["id"] in ("alpha/mod_7.py#Thing7", "beta/mod_7.py#Thing7")


def test_a_worker_encoded_file_whose_id_is_taken_is_cut_again_in_the_build(
    tmp_path: Path,
) -> None:
    """Workers send each file's chunks encoded for the writers; a file whose worker-made
    ids another file took first is cut again by the build process, as a serial build cuts
    it: the same pack and index either way."""

    segs = [tmp_path / "one", tmp_path / "two"]
    for seg in segs:
        make_tree(seg)
        (seg / "_ctx").mkdir()
        (seg / "_ctx" / "trifecta.toml").write_text('[files]\ninclude = ["**/*"]\n')
        (seg / "a.py").write_text("def f():\n    return 1\n")
        (seg / "a.py#f").write_text("plain text named like a chunk id\n")
    run(segs[0], "ctx", "build", "--jobs", "1")
    run(segs[1], "ctx", "build", "--jobs", "2")
    packs = [json.loads((seg / "_ctx" / "context_pack.json").read_text()) for seg in segs]
    for pack in packs:
        pack.pop("directories")
        for f in pack["source_files"]:
            f.pop("mtime_ns")
    assert packs[0] == packs[1]
    by_id = {c["id"]: c["path"] for c in packs[1]["chunks"]}
    assert by_id["a.py#f"] == "a.py" and by_id["a.py#f-2"] == "a.py#f"
    tables = []
    for seg in segs:
        conn = sqlite3.connect(seg / "_ctx" / "context_index.sqlite")
        tables.append(
            (
                conn.execute("SELECT * FROM chunks ORDER BY rowid").fetchall(),
                conn.execute("SELECT rowid, * FROM fts ORDER BY rowid").fetchall(),
                conn.execute("SELECT * FROM paths ORDER BY rowid").fetchall(),
            )
        )
        conn.close()
    assert tables[0] == tables[1]
    assert run_json(segs[1], "ctx", "validate")["ok"] is True


def test_jobs_flag_is_checked(tmp_path: Path) -> None:
    proc = run(tmp_path, "ctx", "build", "--jobs", "-1", check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("trifecta: error: argument --jobs/-j: must be 0")


def test_build_stores_skeletons_that_ast_skeleton_then_serves_from_cache(tmp_path: Path) -> None:
    make_tree(tmp_path, modules=4)
    run(tmp_path, "ctx", "build")
    out = run_json(tmp_path, "ast", "skeleton", "alpha/mod_1.py")
    assert out["cache_hit"] is True


# ---- sync proportional to the change ----------------------------------------------------------


def test_no_change_sync_writes_nothing_and_own_writes_never_count(tmp_path: Path) -> None:
    make_tree(tmp_path)
    run(tmp_path, "ctx", "build")
    before = stamps(tmp_path)
    run(tmp_path, "ctx", "search", "-q", "helper")  # telemetry writes under _ctx/
    (tmp_path / "_ctx" / "notes.txt").write_text("trifecta's own directory\n")
    synced = run_json(tmp_path, "ctx", "sync")
    assert synced["read"] == [] and synced["removed"] == []
    assert synced["validation"]["ok"] is True
    assert stamps(tmp_path) == before
    pack = json.loads((tmp_path / "_ctx" / "context_pack.json").read_text())
    assert "_ctx" not in [d["path"] for d in pack["directories"]]


def test_one_file_sync_reads_that_file_only(tmp_path: Path) -> None:
    make_tree(tmp_path)
    run(tmp_path, "ctx", "build")
    target = tmp_path / "beta" / "mod_5.py"
    target.write_text(target.read_text() + "\n\ndef added_later():\n    return 5\n")
    synced = run_json(tmp_path, "ctx", "sync")
    assert synced["read"] == ["beta/mod_5.py"]
    assert synced["bytes_read"] == target.stat().st_size
    assert synced["validation"]["ok"] is True
    hits = run_json(tmp_path, "ctx", "search", "-q", "added_later")["hits"]
    assert hits[0]["id"] == "beta/mod_5.py#added_later"
    assert run_json(tmp_path, "ctx", "validate")["ok"] is True


def test_sync_finds_new_files_in_new_and_moved_directories(tmp_path: Path) -> None:
    make_tree(tmp_path, modules=4)
    run(tmp_path, "ctx", "build")
    (tmp_path / "alpha" / "fresh.py").write_text("def fresh_one():\n    return 1\n")
    (tmp_path / "gamma" / "deep").mkdir(parents=True)
    (tmp_path / "gamma" / "deep" / "new.py").write_text("def deep_one():\n    return 2\n")
    (tmp_path / "beta" / "mod_0.py").unlink()
    stale = run_json(tmp_path, "ctx", "search", "-q", "fresh_one")
    assert stale["freshness"]["new"] == ["alpha/fresh.py", "gamma/deep/new.py"]
    assert stale["freshness"]["deleted"] == ["beta/mod_0.py"]
    synced = run_json(tmp_path, "ctx", "sync")
    assert synced["read"] == ["alpha/fresh.py", "gamma/deep/new.py"]
    assert synced["removed"] == ["beta/mod_0.py"]
    assert synced["validation"]["ok"] is True
    assert run_json(tmp_path, "ctx", "validate")["ok"] is True
    assert run_json(tmp_path, "ctx", "search", "-q", "deep_one")["stale"] is False


# ---- listing: git's rules, skipped directories reported ---------------------------------------


def test_git_work_tree_listing_follows_git_ignore_rules(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    seg = repo / "project"
    seg.mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("generated/\n")  # above the segment
    (repo / ".git" / "info" / "exclude").write_text("local_only.py\n")
    (seg / "kept.py").write_text("def kept():\n    return 1\n")
    (seg / "local_only.py").write_text("def local():\n    return 2\n")
    (seg / "generated").mkdir()
    (seg / "generated" / "out.py").write_text("def generated():\n    return 3\n")
    (seg / "venv").mkdir()  # a package named venv (as the standard library's)
    (seg / "venv" / "__init__.py").write_text("def create():\n    return 4\n")
    (seg / "env").mkdir()  # a virtual environment, whatever its name
    (seg / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (seg / "env" / "lib.py").write_text("def env_lib():\n    return 5\n")
    built = run_json(seg, "ctx", "build")
    pack = json.loads((seg / "_ctx" / "context_pack.json").read_text())
    paths = [f["path"] for f in pack["source_files"]]
    assert paths == ["kept.py", "venv/__init__.py"]
    skipped = {s["path"]: s["reason"] for s in built["skipped"]}
    assert skipped["env/"] == "virtual environment (holds pyvenv.cfg)"
    assert skipped["generated/"] == "ignored by git"
    assert skipped["local_only.py"] == "ignored by git"
    stats = run_json(seg, "ctx", "stats")["pack"]
    assert {s["path"] for s in stats["skipped_paths"]} == set(skipped)
    assert "skipped env/: virtual environment (holds pyvenv.cfg)" in run(seg, "ctx", "stats").stdout
    assert run_json(seg, "ctx", "validate")["ok"] is True
    (seg / "generated" / "more.py").write_text("def more():\n    return 6\n")
    (seg / "added.py").write_text("def added():\n    return 7\n")
    assert run_json(seg, "ctx", "search", "-q", "added")["freshness"]["new"] == ["added.py"]


def test_skip_dirs_setting_is_configurable(tmp_path: Path) -> None:
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "tool.py").write_text("def tool():\n    return 1\n")
    (tmp_path / "a.py").write_text("def a():\n    return 1\n")
    built = run_json(tmp_path, "ctx", "build")
    assert built["files"] == 1
    assert {"path": "node_modules/", "reason": "directory name in files.skip_dirs"} in built[
        "skipped"
    ]
    (tmp_path / "_ctx" / "trifecta.toml").write_text("[files]\nskip_dirs = []\n")
    assert run_json(tmp_path, "ctx", "build")["files"] == 2


# ---- progress ---------------------------------------------------------------------------------


def _on_pty(segment: Path, *args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit code, what the terminal got)."""

    main, side = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trifecta", "--segment", str(segment), *args],
        stdout=subprocess.DEVNULL,
        stderr=side,
        env=ENV,
    )
    os.close(side)
    seen = b""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1.0)
        if ready:
            try:
                data = os.read(main, 4096)
            except OSError:  # the other side closed
                break
            if not data:
                break
            seen += data
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=60)
    os.close(main)
    return code, seen.decode("utf-8", errors="replace")


def test_progress_line_on_a_terminal_only(tmp_path: Path) -> None:
    make_tree(tmp_path)
    code, seen = _on_pty(tmp_path, "ctx", "build")
    assert code == 0
    assert "cutting files: 41/41 (100%)" in seen
    assert seen.endswith("\r\x1b[K")  # the line is erased at the end
    code, seen = _on_pty(tmp_path, "ctx", "build", "--quiet")
    assert code == 0 and seen == ""
    piped = run(tmp_path, "ctx", "build")
    assert piped.stderr == ""


def test_embedding_api_progress_callback(tmp_path: Path) -> None:
    make_tree(tmp_path)
    seen: list[BuildProgress] = []
    with Segment(tmp_path) as seg:
        report = seg.build(progress=seen.append, jobs=2)
    assert report.files == 41
    assert [p.done for p in seen] == list(range(42))
    assert {p.total for p in seen} == {41}
    assert all(a.elapsed_s <= b.elapsed_s for a, b in itertools.pairwise(seen))


@pytest.mark.parametrize("jobs", [1, 2])
def test_sync_with_nothing_changed_calls_no_progress(tmp_path: Path, jobs: int) -> None:
    make_tree(tmp_path, modules=4)
    seen: list[BuildProgress] = []
    with Segment(tmp_path) as seg:
        seg.build(jobs=jobs)
        report = seg.build(incremental=True, progress=seen.append, jobs=jobs)
    assert report.read == () and seen == []


# ---- freshness without a re-walk --------------------------------------------------------------


class CountingLister(LocalSegmentLister):
    """The real lister, recording which directories it is asked to list again."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.asked: list[list[str]] = []
        self.full = 0

    def list_segment(self, include: Sequence[str], exclude: Sequence[str]) -> SegmentListing:
        self.full += 1
        return super().list_segment(include, exclude)

    def list_changed(
        self,
        directories: Sequence[str],
        known: Collection[str],
        include: Sequence[str],
        exclude: Sequence[str],
    ) -> SegmentListing:
        self.asked.append(list(directories))
        return super().list_changed(directories, known, include, exclude)


def test_freshness_lists_again_only_the_directory_that_moved(tmp_path: Path) -> None:
    make_tree(tmp_path)
    run(tmp_path, "ctx", "build")
    run(tmp_path, "ctx", "search", "-q", "helper")  # writes under _ctx/ (telemetry)
    reader = LocalFileReader(tmp_path)
    index = SqliteSearchIndex(tmp_path)
    lister = CountingLister(tmp_path)
    include = ("**/*.py", "**/*.md")
    fresh = check_freshness(reader, index.state(), include, (), lister=lister)
    assert not fresh.stale and lister.asked == [] and lister.full == 0
    (tmp_path / "beta" / "late.py").write_text("def late():\n    return 1\n")
    fresh = check_freshness(reader, index.state(), include, (), lister=lister)
    assert fresh.new == ("beta/late.py",)
    assert lister.asked == [["beta"]] and lister.full == 0
    index.close()


# ---- the pack JSON, streamed ------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2000, 4001])
def test_streamed_pack_is_byte_for_byte_json_dumps(tmp_path: Path, count: int) -> None:
    chunks = tuple(
        PackChunk(
            f"m.py#f{i}",
            "m.py",
            "function",
            f"f{i}",
            ("m", f"f{i}"),
            i + 1,
            i + 1,
            "0" * 64,
            3,
            False,
            (f"f{i}", "é"),
        )
        for i in range(count)
    )
    files = (SourceFile("m.py", 10, 1, "1" * 64, False, False),)
    pack = Pack(source_files=files, chunks=chunks, warnings=("m.py: ünïcode",), parser="ast")
    store = JsonPackStore(tmp_path)
    sha = store.save(pack)
    data = (tmp_path / "_ctx" / "context_pack.json").read_bytes()
    expected = json.dumps(pack_to_dict(pack), ensure_ascii=False, separators=(",", ":"))
    assert data == expected.encode("utf-8")
    assert sha == hashlib.sha256(data).hexdigest()
    assert JsonPackStore(tmp_path).load_with_sha() == (pack, sha)
