"""Redaction cost: the current ``Redactor`` against the one of a baseline commit, in the
same process, interleaved rounds, medians (per event: one args and one result mapping).

Prints JSON. Cases: a typical search event (plain query, ids), an event with a fresh
absolute path and an ``sk-`` key (no cache can help), and one holding a secret of each
kind of ``tests/fault/secrets_corpus.py``.
Usage: python -m bench.redaction [--baseline REV] [--rounds N]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench._common import emit
from trifecta.application.telemetry import redaction as current

ARGS = {"query": "how does the context pack pick chunks", "limit": 5}
RESULT = {"hits": 5, "returned_ids": ["a.md#intro", "b.py#Pack", "c.py#load"], "status": "ok"}


def baseline_module(rev: str, directory: Path) -> ModuleType:
    source = ""
    for where in ("application/telemetry/redaction.py", "application/redaction.py"):
        shown = subprocess.run(
            ["git", "show", f"{rev}:trifecta/{where}"], capture_output=True, text=True, check=False
        )
        if shown.returncode == 0:
            source = shown.stdout
            break
    if not source:
        raise SystemExit(f"no redaction module at {rev}")
    path = directory / "baseline_redaction.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_redaction", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_event_us(module: ModuleType, events: list[tuple[dict[str, Any], dict[str, Any]]]) -> float:
    red = module.Redactor("/work/seg", "/home/alice", "alice")
    start = time.perf_counter_ns()
    for args, result in events:
        red.mapping(args)
        red.mapping(result)
    return (time.perf_counter_ns() - start) / len(events) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--events", type=int, default=4000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.fault.secrets_corpus import SECRETS

    n = args.events
    Event = tuple[dict[str, Any], dict[str, Any]]
    cases: dict[str, list[Event]] = {
        "typical": [(ARGS, RESULT)] * n,
        "fresh_path_and_key": [
            (
                {"path": f"/work/seg/src/mod{i}.py", "query": f"find sk-{i:024d}"},
                {"error": f"/etc/x{i}"},
            )
            for i in range(n)
        ],
        "corpus_secrets": [
            ({"query": f"where is {s} {i}"}, {"status": "ok"})
            for i in range(n // len(SECRETS) + 1)
            for s in SECRETS.values()
        ][:n],
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_module(args.baseline, Path(tmp))
        out: dict[str, Any] = {"benchmark": "redaction", "baseline": args.baseline, "events": n}
        for name, events in cases.items():
            old, new = [], []
            for _ in range(args.rounds):
                old.append(per_event_us(base, events))
                new.append(per_event_us(current, events))
            old_us, new_us = statistics.median(old), statistics.median(new)
            out[name] = {
                "baseline_us": round(old_us, 2),
                "current_us": round(new_us, 2),
                "ratio": round(new_us / old_us, 2),
            }
    emit(out)


if __name__ == "__main__":
    main()
