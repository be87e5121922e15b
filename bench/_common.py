"""Shared helpers for benchmarks: medians of repeated runs, JSON output."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any


def median_ms(samples_ns: Sequence[int]) -> float:
    return round(statistics.median(samples_ns) / 1e6, 3)


def percentile_ms(samples_ns: Sequence[int], q: float) -> float:
    ordered = sorted(samples_ns)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6, 3)


def time_call(fn: Callable[[], object], repeat: int) -> list[int]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return samples


def time_process(argv: Sequence[str], repeat: int, cwd: str | None = None) -> list[int]:
    """Wall ns of ``argv`` run ``repeat`` times (after one warm-up run): the CLI alone,
    never through a search server (``bench.startup --served`` measures that)."""

    env = {**os.environ, "TRIFECTA_SEARCH_SERVER": "off"}

    def once() -> None:
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True, env=env)

    once()  # warm the page cache and .pyc files
    return time_call(once, repeat)


def emit(result: dict[str, Any]) -> None:
    result.setdefault("python", sys.version.split()[0])
    print(json.dumps(result, indent=2, sort_keys=True))
