"""Context packs through the real CLI, on real files and real concurrent processes."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

SERVICE = '''"""The context service."""

from dataclasses import dataclass


@dataclass
class ContextService:
    """Builds context for a segment."""

    name: str

    def resolve_segment_state(self) -> str:
        return self.name
'''


def run(segment: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(segment, *args, check=check, env={"TRIFECTA_TELEMETRY": "lite"})


def run_json(segment: Path, *args: str) -> Any:
    return json.loads(run(segment, *args, "--json").stdout)


@pytest.fixture
def segment(tmp_path: Path) -> Path:
    seg = tmp_path / "seg"
    (seg / "src" / "app").mkdir(parents=True)
    (seg / "docs").mkdir()
    (seg / "src" / "app" / "context_service.py").write_text(SERVICE)
    for i in range(6):
        (seg / "src" / "app" / f"user_{i}.py").write_text(
            f"from app.context_service import ContextService\n\n\ndef use_{i}(service):\n"
            f"    # the context service is used here, context and service\n"
            f"    return ContextService(str({i}))\n"
        )
    (seg / "docs" / "guide.md").write_text(
        "# Guide\n\nHow to use the context.\n\n## Installation\n\n    pip install app\n"
    )
    (seg / "README.md").write_text("# App\n\nThe app.\n")
    return seg


def test_camel_case_query_finds_the_snake_case_file_first(segment: Path) -> None:
    run(segment, "ctx", "build")
    result = run_json(segment, "ctx", "search", "-q", "ContextService")
    assert result["hits"][0]["path"] == "src/app/context_service.py"
    assert set(result) >= {"query", "hits", "total_hits", "stale"}
    assert set(result["hits"][0]) >= {
        "id",
        "path",
        "title",
        "kind",
        "score",
        "token_est",
        "line_start",
        "line_end",
        "preview",
    }
    scores = [h["score"] for h in result["hits"]]
    assert scores == sorted(scores, reverse=True)
    snake = run_json(segment, "ctx", "search", "-q", "resolve segment state")
    assert snake["hits"][0]["id"] == "src/app/context_service.py#ContextService"


def test_get_serves_code_with_indentation_citations_and_budget(segment: Path) -> None:
    run(segment, "ctx", "build")
    chunk_id = "src/app/context_service.py#ContextService"
    raw = run_json(segment, "ctx", "get", "-i", chunk_id, "-m", "raw")
    (chunk,) = raw["chunks"]
    assert chunk["text"].startswith("@dataclass\nclass ContextService:\n")
    assert "        return self.name\n" in chunk["text"]
    assert (chunk["line_start"], chunk["line_end"]) == (6, 13)
    assert set(raw) >= {"chunks", "total_tokens", "stop_reason", "bytes_read"}
    assert raw["stop_reason"] == "complete" and raw["bytes_read"] == len(SERVICE)
    skel = run_json(segment, "ctx", "get", "-i", chunk_id, "-m", "raw", "-b", "34")
    assert skel["chunks"][0]["mode"] == "skeleton"
    assert "def resolve_segment_state(self) -> str:" in skel["chunks"][0]["text"]
    text = run(segment, "ctx", "get", "-i", chunk_id, "-m", "excerpt").stdout
    assert "src/app/context_service.py:6-13" in text
    unknown = run(segment, "ctx", "get", "-i", f"{chunk_id},no/such#id", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "trifecta: error: unknown chunk id(s): no/such#id"


def test_stale_files_are_reported_and_sync_refreshes(segment: Path) -> None:
    run(segment, "ctx", "build")
    target = segment / "src" / "app" / "user_0.py"
    target.write_text(target.read_text() + "\n\ndef brand_new_function():\n    pass\n")
    (segment / "docs" / "added.md").write_text("# Added\n")
    result = run_json(segment, "ctx", "search", "-q", "brand_new_function")
    assert result["stale"] is True
    assert result["freshness"]["changed"] == ["src/app/user_0.py"]
    assert result["freshness"]["new"] == ["docs/added.md"]
    got = run_json(segment, "ctx", "get", "-i", "src/app/user_0.py#use_0", "-m", "raw")
    assert got["chunks"][0]["mode"] == "stale" and got["chunks"][0]["text"] == ""
    assert run(segment, "ctx", "validate", check=False).returncode == 1
    synced = run_json(segment, "ctx", "search", "-q", "brand_new_function", "--sync")
    assert synced["stale"] is False
    assert synced["hits"][0]["id"] == "src/app/user_0.py#brand_new_function"
    sync = run_json(segment, "ctx", "sync")
    assert sync["read"] == [] and sync["incremental"] is True
    assert run(segment, "ctx", "validate").returncode == 0


def test_hostile_segment_builds_and_serves_none_of_the_refused(segment: Path) -> None:
    outside = segment.parent / "outside_secret.py"
    outside.write_text("OUTSIDE_SECRET_TOKEN = 1\n")
    os.symlink(outside, segment / "src" / "escape.py")
    (segment / "src" / "latin1.py").write_bytes("NAME = 'caf\u00e9'\n".encode("latin-1"))
    (segment / "src" / "blob.py").write_bytes(b"BINARY_SECRET_TOKEN\x00\x01\x02" * 100)
    with (segment / "docs" / "huge.md").open("wb") as handle:
        line = b"HUGE_SECRET_TOKEN filler line of text\n"
        handle.write(line * (50 * 1024 * 1024 // len(line) + 1))
    report = run_json(segment, "ctx", "build")
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert "leaves the segment" in skipped["src/escape.py"]
    assert "binary" in skipped["src/blob.py"]
    assert "size cap" in skipped["docs/huge.md"]
    assert any("src/latin1.py" in w and "UTF-8" in w for w in report["warnings"])
    for secret in ("OUTSIDE_SECRET_TOKEN", "BINARY_SECRET_TOKEN", "HUGE_SECRET_TOKEN"):
        assert run_json(segment, "ctx", "search", "-q", secret)["hits"] == []
    pack = json.loads((segment / "_ctx" / "context_pack.json").read_text())
    paths = {f["path"] for f in pack["source_files"]}
    assert "src/latin1.py" in paths
    assert not paths & {"src/escape.py", "src/blob.py", "docs/huge.md"}
    assert run_json(segment, "ctx", "search", "-q", "NAME")["stale"] is False
    got = run(segment, "ctx", "get", "-i", "src/escape.py", check=False)
    assert got.returncode == 1 and "unknown chunk id" in got.stderr


def test_concurrent_builds_all_succeed(segment: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "trifecta", "--segment", str(segment), "ctx", "build"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    assert run(segment, "ctx", "validate").returncode == 0


def test_corrupt_pack_is_a_one_line_error(segment: Path) -> None:
    run(segment, "ctx", "build")
    (segment / "_ctx" / "context_pack.json").write_text('{"schema_version": 1, "chunks": [')
    for args in (("ctx", "search", "-q", "context"), ("ctx", "get", "-i", "README.md#app")):
        proc = run(segment, *args, check=False)
        assert proc.returncode == 1
        assert proc.stderr == "trifecta: error: pack is corrupt, run ctx build\n"
    validate = run(segment, "ctx", "validate", check=False)
    assert validate.returncode == 1 and "schema: pack is corrupt" in validate.stdout
    (segment / "_ctx" / "context_index.sqlite").write_bytes(b"garbage" * 1000)
    run(segment, "ctx", "build")
    assert run(segment, "ctx", "validate").returncode == 0


def test_missing_pack_is_a_one_line_error(segment: Path) -> None:
    proc = run(segment, "ctx", "search", "-q", "x", check=False)
    assert proc.returncode == 1
    assert proc.stderr == "trifecta: error: no context pack, run ctx build\n"


def test_full_search_flow_logs_all_metrics(segment: Path) -> None:
    run(segment, "ctx", "build")
    run(segment, "ctx", "search", "-q", "ContextService")
    run(segment, "ctx", "get", "-i", "src/app/context_service.py#ContextService", "-m", "raw")
    events_file = segment / "_ctx" / "telemetry" / "events.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    search = next(e for e in events if e["cmd"] == "ctx.search")
    assert "bytes_read" in search and search["cache_hit_rate"] == 1.0
    assert isinstance(search["timing_ms"], int) and search["tokens"] > 0
    reads = [e for e in events if e["cmd"] == "file.read"]
    assert reads and reads[0]["file_path_rel"] == "src/app/context_service.py"
    assert reads[0]["read_mode"] == "raw" and reads[0]["bytes_read"] == len(SERVICE)
    assert "duration_ms" in reads[0]
    get = next(e for e in events if e["cmd"] == "ctx.get")
    assert get["bytes_read"] == len(SERVICE) and get["disclosure_mode"] == "raw"
    assert not any(str(segment) in json.dumps(e) for e in events)
    metrics = json.loads((segment / "_ctx" / "telemetry" / "metrics.json").read_text())
    assert metrics.get("file_read_raw_bytes_total", 0) >= len(SERVICE)
    stats = run_json(segment, "ctx", "stats")
    assert stats["usage"]["searches"] == 1 and stats["usage"]["zero_hit_rate"] == 0.0


def test_searches_during_a_rebuild_never_fail(tmp_path: Path) -> None:
    seg = tmp_path / "big"
    for i in range(150):
        path = seg / f"pkg{i % 10}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "".join(f"def function_{i}_{j}(x):\n    return x + {j}\n\n\n" for j in range(30))
        )
    run(seg, "ctx", "build")
    (seg / "pkg0" / "module_0.py").write_text("def changed():\n    pass\n")  # a new pack sha
    argv = [sys.executable, "-m", "trifecta", "--segment", str(seg), "ctx"]
    builder = subprocess.Popen([*argv, "build"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    searches: list[subprocess.CompletedProcess[str]] = []
    while builder.poll() is None or len(searches) < 3:  # search for the whole rebuild
        searches.append(
            subprocess.run(
                [*argv, "search", "-q", f"function_{len(searches)}_3", "--json"],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        )
    assert builder.wait(timeout=120) == 0
    if builder.stderr:
        builder.stderr.close()
    for proc in searches:
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["hits"]


def test_a_new_file_in_a_directory_without_packed_files_is_noticed(segment: Path) -> None:
    fixtures = segment / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    (fixtures / "data.json").write_text("{}")
    run(segment, "ctx", "build")
    (fixtures / "helper.py").write_text("def helper():\n    pass\n")
    result = run_json(segment, "ctx", "search", "-q", "helper")
    assert result["stale"] is True and result["freshness"]["new"] == ["tests/fixtures/helper.py"]


def test_a_comma_file_and_its_underscore_twin_build_and_serve(tmp_path: Path) -> None:
    seg = tmp_path / "s"
    (seg / "pkg").mkdir(parents=True)
    (seg / "pkg" / "we,ird.py").write_text("def f(): pass\n")
    run(seg, "ctx", "build")
    (seg / "pkg" / "we_ird.py").write_text("def g(): pass\n")
    run(seg, "ctx", "build")
    assert run_json(seg, "ctx", "validate")["ok"] is True
    hits = run_json(seg, "ctx", "search", "-q", "f g")["hits"]
    assert {"pkg/we%2Cird.py#f", "pkg/we_ird.py#g"} <= {h["id"] for h in hits}
    got = run_json(seg, "ctx", "get", "--ids", "pkg/we%2Cird.py#f,pkg/we_ird.py#g")
    assert [c["path"] for c in got["chunks"]] == ["pkg/we,ird.py", "pkg/we_ird.py"]


def test_a_failing_index_write_keeps_the_previous_pack_usable(tmp_path: Path) -> None:
    seg = tmp_path / "s"
    seg.mkdir()
    (seg / "a.py").write_text("def alpha(): pass\n")
    run(seg, "ctx", "build")
    pack = (seg / "_ctx" / "context_pack.json").read_bytes()
    (seg / "b.py").write_text("def beta(): pass\n")
    index = seg / "_ctx" / "context_index.sqlite"
    with sqlite3.connect(index) as conn:  # the sync's in-place update of the index fails
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON chunks BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    proc = run(seg, "ctx", "sync", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "index" in proc.stderr
    assert (seg / "_ctx" / "context_pack.json").read_bytes() == pack
    assert run_json(seg, "ctx", "search", "-q", "alpha")["hits"][0]["id"] == "a.py#alpha"


def _events(seg: Path) -> list[dict[str, Any]]:
    lines = (seg / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_failed_commands_and_stats_show_in_telemetry(tmp_path: Path) -> None:
    seg = tmp_path / "s"
    seg.mkdir()
    (seg / "a.py").write_text("def alpha(): pass\n")
    assert run(seg, "ctx", "search", "-q", "alpha", check=False).returncode == 1  # no pack
    run(seg, "ctx", "build")
    assert run(seg, "ctx", "get", "--ids", "nope", check=False).returncode == 1
    assert run(seg, "ctx", "search", "-q", "!!!", check=False).returncode == 2
    (seg / "_ctx" / "context_pack.json").write_text("{not json")
    assert run(seg, "ctx", "get", "--ids", "a.py", check=False).returncode == 1
    assert run(seg, "ctx", "stats", check=False).returncode == 1
    run(seg, "ctx", "build")
    run(seg, "ctx", "stats")
    events = [(e["cmd"], e["result"].get("error")) for e in _events(seg)]
    assert [e for e in events if e[0] != "file.read"] == [
        ("ctx.search", "PackMissing"),
        ("ctx.build", None),
        ("ctx.get", "UnknownChunks"),
        ("ctx.search", "UsageError"),
        ("ctx.get", "PackCorrupt"),
        ("ctx.stats", "PackCorrupt"),
        ("ctx.build", None),
        ("ctx.stats", None),
    ]
    summary = run_json(seg, "telemetry", "summary")
    assert summary["latencies"]["ctx.get"]["count"] == 2
    assert summary["latencies"]["ctx.search"]["count"] == 2
    assert summary["latencies"]["ctx.stats"]["count"] == 2


def test_event_tokens_do_not_depend_on_the_output_format(tmp_path: Path) -> None:
    seg = tmp_path / "s"
    seg.mkdir()
    (seg / "a.py").write_text("def alpha():\n    return 1\n")
    run(seg, "ctx", "build")
    run(seg, "ctx", "search", "-q", "alpha")
    run_json(seg, "ctx", "search", "-q", "alpha")
    run(seg, "ctx", "get", "--ids", "a.py#alpha", "--mode", "raw")
    got = run_json(seg, "ctx", "get", "--ids", "a.py#alpha", "--mode", "raw")
    events = _events(seg)
    search = [e["tokens"] for e in events if e["cmd"] == "ctx.search"]
    get = [e["tokens"] for e in events if e["cmd"] == "ctx.get"]
    # "def alpha():\n    return 1\n" is 26 characters: 7 tokens.
    assert got["total_tokens"] == 7 and get == [7, 7]
    # Hits "a.py#alpha alpha def alpha()" (28 chars: 7) and "a.py a def alpha():" (5).
    assert search == [12, 12]


def test_sync_validates_after_building_and_exits_1_listing_problems(tmp_path: Path) -> None:
    seg = tmp_path / "s"
    seg.mkdir()
    (seg / "a.py").write_text("def alpha(): pass\n")
    (seg / "b.py").write_text("def beta(): pass\n")
    run(seg, "ctx", "build")
    synced = run_json(seg, "ctx", "sync")
    assert synced["validation"] == {"ok": True, "problems": [], "files": 2, "chunks": 4}
    assert "pack is valid: 2 files, 4 chunks" in run(seg, "ctx", "sync").stdout
    # Damage the index behind the pack's back: the sync has nothing to re-read (a no-op),
    # and its validation reports the damage.
    with sqlite3.connect(seg / "_ctx" / "context_index.sqlite") as conn:
        conn.execute("DELETE FROM chunks WHERE id = 'b.py#beta'")
    proc = run(seg, "ctx", "sync", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "pack is NOT valid (1 problems):" in proc.stdout
    assert "index: 1 chunks missing, 0 extra (run ctx build)" in proc.stdout
    proc = run(seg, "ctx", "sync", "--json", check=False)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["validation"]["problems"] == [
        "index: 1 chunks missing, 0 extra (run ctx build)"
    ]
    cmds = [e["cmd"] for e in _events(seg) if e["cmd"].startswith("ctx.")]
    assert cmds[-2:] == ["ctx.sync", "ctx.validate"]
    run(seg, "ctx", "build")  # a full build repairs it
    assert run_json(seg, "ctx", "sync")["validation"]["ok"] is True


def test_stats_count_what_the_pack_holds_and_never_wait_for_the_build_lock(
    tmp_path: Path,
) -> None:
    seg = tmp_path / "s"
    (seg / "pkg").mkdir(parents=True)
    (seg / "pkg" / "a.py").write_text('"""A."""\n\nclass A:\n    def f(self):\n        pass\n')
    (seg / "pkg" / "b.py").write_text("def g():\n    return 1\n")
    (seg / "README.md").write_text("# Title\n\nWords.\n\n## More\n\nText.\n")
    run(seg, "ctx", "build")
    pack_file = seg / "_ctx" / "context_pack.json"
    pack = json.loads(pack_file.read_text())
    by_kind: dict[str, dict[str, int]] = {}
    for chunk in pack["chunks"]:  # the expected figures, counted here from the pack file
        entry = by_kind.setdefault(chunk["kind"], {"chunks": 0, "tokens": 0})
        entry["chunks"] += 1
        entry["tokens"] += chunk["token_est"]
    facts = run_json(seg, "ctx", "stats")["pack"]  # from the index: the pack is its own
    assert facts["by_kind"] == by_kind
    assert facts["chunks"] == len(pack["chunks"]) and facts["files"] == len(pack["source_files"])
    assert (facts["parser"], facts["estimator"]) == (pack["parser"], pack["estimator"])
    assert facts["pack_bytes"] == pack_file.stat().st_size
    # the pack rewritten behind the index's back (valid, other bytes) while a build holds the
    # lock: stats count the pack itself at once, they do not wait for the lock (30 s)
    pack_file.write_text(json.dumps(pack, indent=1))
    with (seg / "_ctx" / ".context_pack.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            [sys.executable, "-m", "trifecta", "--segment", str(seg), "ctx", "stats", "--json"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert done.returncode == 0, done.stderr
    again = json.loads(done.stdout)["pack"]
    assert again["by_kind"] == by_kind and again["pack_bytes"] == pack_file.stat().st_size
    # a damaged pack is reported as such
    pack_file.write_text("{not json")
    failed = run(seg, "ctx", "stats", check=False)
    assert failed.returncode == 1 and "corrupt" in failed.stderr
