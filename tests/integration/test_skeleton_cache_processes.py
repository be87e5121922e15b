"""The SQLite skeleton cache shared by several real processes at once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.system.clock import SystemClock
from trifecta.domain.model import Skeleton, SkeletonEntry

WORKER = r"""
import json, sys
from pathlib import Path
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.system.clock import SystemClock
from trifecta.domain.model import Skeleton, SkeletonEntry

path, worker = Path(sys.argv[1]), int(sys.argv[2])
cache = SqliteSkeletonCache(path, SystemClock(), max_bytes=60_000, max_entry_bytes=4_000)

def value(key: int) -> Skeleton:
    entries = tuple(
        SkeletonEntry("function", f"f{i}", f"f{i}", f"def f{i}(k={key})", i + 1, i + 1)
        for i in range(key % 7 + 1)
    )
    return Skeleton(f"k{key}.py", "ast", False, None, entries, key)

wrong = hits = stored = 0
for round_ in range(3):
    for key in range(120):
        sha = f"{key:064d}"
        got = cache.get(sha, "ast", "1")
        if got is None:
            stored += cache.put(sha, "ast", "1", value(key))
        elif got != value(key):
            wrong += 1
        else:
            hits += 1
print(json.dumps({"worker": worker, "wrong": wrong, "hits": hits, "stored": stored,
                  "errors": cache.errors, "stats": dict(cache.stats())}))
"""


def test_concurrent_processes_share_the_cache_safely(tmp_path: Path) -> None:
    path = tmp_path / "_ctx" / "cache" / "skeletons.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err == ""
        reports.append(json.loads(out))
    assert all(r["wrong"] == 0 for r in reports), reports  # never a value for another key
    assert all(r["errors"] == 0 for r in reports), reports  # busy timeout absorbed contention
    assert sum(r["hits"] for r in reports) > 0
    assert all(r["stats"]["bytes"] <= 60_000 for r in reports), reports  # bounded while shared


def test_concurrent_cli_runs_agree(tmp_path: Path) -> None:
    segment = tmp_path / "seg"
    (segment / "pkg").mkdir(parents=True)
    for n in range(20):
        (segment / "pkg" / f"m{n}.py").write_text(
            f'"""Module {n}."""\n\nclass C{n}:\n    def f(self, x: int = {n}) -> int:\n'
            "        return x\n"
        )
    argv = [sys.executable, "-m", "trifecta", "--segment", str(segment), "ast", "skeleton"]
    procs = [
        subprocess.Popen([*argv, "pkg", "--json"], stdout=subprocess.PIPE, text=True, cwd=segment)
        for _ in range(4)
    ]
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        outputs.append([{k: v for k, v in d.items() if k != "cache_hit"} for d in json.loads(out)])
    assert all(o == outputs[0] for o in outputs)
    assert len(outputs[0]) == 20
    again = subprocess.run(
        [*argv, "pkg", "--json"], capture_output=True, text=True, cwd=segment, check=True
    )
    assert all(d["cache_hit"] for d in json.loads(again.stdout))


OPENER = r"""
import sys
from pathlib import Path
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.system.clock import SystemClock

cache = SqliteSkeletonCache(Path(sys.argv[1]), SystemClock())
cache.stats()
print(cache.errors)
"""


def test_processes_creating_a_fresh_cache_at_once_never_degrade(tmp_path: Path) -> None:
    # Creating the database and switching it to WAL is reported as "locked" without the
    # busy handler; every opener must still get a working cache.
    for round_ in range(5):
        path = tmp_path / f"r{round_}" / "skeletons.sqlite3"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, str(path)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(8)
        ]
        errors = [int(proc.communicate(timeout=60)[0]) for proc in procs]
        assert errors == [0] * 8


def test_a_cache_filled_on_one_thread_is_read_and_closed_from_another(tmp_path: Path) -> None:
    # The MCP server builds on a thread of its own and closes the segment from its worker.
    cache = SqliteSkeletonCache(tmp_path / "skeletons.sqlite3", SystemClock())
    skeleton = Skeleton(
        "a.py", "ast", False, None, (SkeletonEntry("function", "f", "f", "def f()", 1, 1),), 1
    )
    stored: list[bool] = []
    filler = threading.Thread(
        target=lambda: stored.append(cache.put("0" * 64, "ast", "1", skeleton))
    )
    filler.start()
    filler.join(30)
    assert stored == [True]
    assert cache.get("0" * 64, "ast", "1") == skeleton  # this thread reads it
    closed: list[BaseException | None] = []

    def close() -> None:
        try:
            cache.close()
            closed.append(None)
        except BaseException as e:
            closed.append(e)

    closer = threading.Thread(target=close)
    closer.start()
    closer.join(30)
    assert closed == [None]
    assert cache.errors == 0
