"""Telemetry cost: one ``event()`` against a raw ``os.write`` of the same bytes, and
throughput with 1 and 8 writer processes.

Prints JSON. Everything is measured in the same run on the same disk (a temporary
directory): medians of per-call timings, and ratios against the raw write.
Usage: python -m bench.telemetry [--events N] [--procs-events N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import emit
from trifecta import Telemetry
from trifecta.adapters.jsonl_telemetry.sink import encode_lines
from trifecta.application.telemetry.service import TelemetryService

ARGS = {"query": "how does the context pack pick chunks", "limit": 5}
RESULT = {"hits": 5, "returned_ids": ["a.md#intro", "b.py#Pack", "c.py#load"], "status": "ok"}


def median_us(samples: list[int]) -> float:
    return round(statistics.median(samples) / 1000, 2)


def git_repo(path: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.com",
    }
    (path / "a.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "b"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)


def time_events(t: TelemetryService, n: int, **extra: Any) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for i in range(n):
        start = clock()
        t.event("ctx.search", ARGS, RESULT, i % 50, **extra)
        samples.append(clock() - start)
    return samples


def time_raw_writes(path: Path, data: bytes, n: int) -> list[int]:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    samples = []
    clock = time.perf_counter_ns
    try:
        for _ in range(n):
            start = clock()
            os.write(fd, data)
            samples.append(clock() - start)
    finally:
        os.close(fd)
    return samples


def writer(segment: str, n: int, start_at_ns: int) -> None:
    """Child process: wait for the common start, write n events, print timings."""

    t = Telemetry(segment)
    t.event("warmup", {}, {}, 0)
    while time.perf_counter_ns() < start_at_ns:
        time.sleep(0.0005)
    begin = time.perf_counter_ns()
    for i in range(n):
        t.event("ctx.search", ARGS, RESULT, i % 50, tokens=i)
    end = time.perf_counter_ns()
    t.flush()
    print(json.dumps({"begin": begin, "end": end, **t.health()}))


def throughput(procs: int, n: int, base: Path) -> dict[str, Any]:
    segment = base / f"tp{procs}"
    segment.mkdir()
    start_at = time.perf_counter_ns() + 1_500_000_000  # after every child has started
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.telemetry",
                "--writer",
                str(segment),
                str(n),
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    reports = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        reports.append(json.loads(out))
    first = min(r["begin"] for r in reports)
    last = max(r["end"] for r in reports)
    lines = sum(
        len(p.read_bytes().splitlines()) for p in (segment / "_ctx" / "telemetry").glob("*.jsonl")
    )
    return {
        "processes": procs,
        "events": procs * n,
        "events_on_disk": lines - procs,  # minus one warm-up event per process
        "events_per_s": round(procs * n / ((last - first) / 1e9)),
        "events_spooled": sum(r["events_spooled"] for r in reports),
        "max_lock_wait_ms": max(r["max_lock_wait_ms"] for r in reports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--procs-events", type=int, default=5000)
    parser.add_argument("--writer", nargs=3, metavar=("SEGMENT", "N", "START_NS"))
    args = parser.parse_args()
    if args.writer:
        writer(args.writer[0], int(args.writer[1]), int(args.writer[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "repo"
        repo.mkdir()
        git_repo(repo)

        # First event of a process: reads .git and runs one bounded `git status`.
        first = Telemetry(repo)
        start = time.perf_counter_ns()
        first.event("ctx.search", ARGS, RESULT, 1, tokens=10)
        first_event_us = round((time.perf_counter_ns() - start) / 1000, 1)

        # Steady state, with tokens and the cached repo_sha/dirty on every event.
        with_ctx = time_events(first, args.events, tokens=312)
        record = json.loads(
            (repo / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()[-1]
        )
        data = encode_lines([record])
        raw = time_raw_writes(base / "raw.jsonl", data, args.events)

        # The same events without a repository and without tokens (fields null / 0).
        plain_dir = base / "plain"
        plain_dir.mkdir()
        plain = Telemetry(plain_dir)
        plain.event("warmup", {}, {}, 0)
        without_ctx = time_events(plain, args.events)

        # Redaction with work to do: absolute paths and a secret in every event.
        # (distinct strings each time, so no cached redaction helps)
        heavy = []
        clock = time.perf_counter_ns
        for i in range(args.events // 4):
            heavy_args = {"path": str(repo / "src" / f"mod{i}.py"), "query": f"find sk-{i:024d}"}
            s = clock()
            first.event("ast.skeleton", heavy_args, {"error": f"/etc/x{i}"}, 1, tokens=5)
            heavy.append(clock() - s)

        event_us = median_us(with_ctx)
        raw_us = median_us(raw)
        result = {
            "benchmark": "telemetry",
            "events": args.events,
            "event_bytes": len(data),
            "event_median_us": event_us,
            "event_p95_us": round(sorted(with_ctx)[int(0.95 * len(with_ctx))] / 1000, 2),
            "raw_write_median_us": raw_us,
            "event_to_raw_write_ratio": round(event_us / raw_us, 2),
            "event_median_us_without_repo_and_tokens": median_us(without_ctx),
            "repo_and_tokens_overhead_ratio": round(event_us / median_us(without_ctx), 2),
            "event_with_paths_and_secret_median_us": median_us(heavy),
            "first_event_us_incl_git": first_event_us,
            "budget_us": 30,
            "within_budget": event_us <= 30,
            "throughput": [
                throughput(1, args.procs_events, base),
                throughput(8, args.procs_events, base),
            ],
        }
        emit(result)


if __name__ == "__main__":
    main()
