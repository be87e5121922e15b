"""OTLP export cost (issue 15): nothing when off, bounded when on.

Same run, interleaved rounds, medians (one process per ``ctx search`` call):

- ``search_off``: ``ctx search`` with no ``OTEL_*`` variable; with ``--compare DIR`` also
  ``compare_search_off``, another source tree (e.g. ``git archive`` of the commit before
  the export) through ``PYTHONPATH``: the ratio is the cost of the export when off;
- ``search_receiver``: export on, to an OTLP/HTTP receiver on 127.0.0.1 (decoding nothing,
  answering 200);
- ``search_closed_port``: export on, to a closed port on 127.0.0.1 (refused at once);
- ``search_silent``: export on, to a socket on 127.0.0.1 that accepts connections and never
  answers (the worst case: the flush timeout, ``telemetry.otlp_timeout_ms``, 200 ms);
- ``event_us``: the median cost of one ``event()`` on the composition root's telemetry
  service, in a child process per tree (off; and on, with the receiver up).

Prints JSON. Usage: python -m bench.otel [--repeat N] [--files N] [--compare DIR]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench._common import emit, median_ms
from tests.otlp_receiver import Receiver, closed_port

SEARCH = ("ctx", "search", "-q", "HTTPServer")
OTEL_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME")
EVENT_PROBE = """
import statistics, sys, time
from trifecta.bootstrap import Root
root = Root(sys.argv[1], run_id="bench")
t = root.telemetry
args = {"query": "how does the context pack pick chunks", "limit": 5}
result = {"hits": 5, "returned_ids": ["a.md#intro", "b.py#Pack"], "status": "ok"}
samples = []
for i in range(int(sys.argv[2])):
    start = time.perf_counter_ns()
    t.event("ctx.search", args, result, i % 50, tokens=100)
    samples.append(time.perf_counter_ns() - start)
root.close()
print(statistics.median(samples))
"""


def _env(pythonpath: str | None, **otel: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TRIFECTA_") and k not in OTEL_VARS
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["TRIFECTA_SEARCH_SERVER"] = "off"  # the CLI alone, never a search server
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return {**env, **otel}


def _run(argv: Sequence[str], cwd: str, env: dict[str, str]) -> int:
    start = time.perf_counter_ns()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter_ns() - start


def _event_ns(seg: str, env: dict[str, str], n: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", EVENT_PROBE, seg, str(n)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--compare", default=None, help="another trifecta source tree")
    args = parser.parse_args()
    from bench.packs import make_corpus

    receiver = Receiver()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel accepts; nobody ever reads or answers
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    closed_url = f"http://127.0.0.1:{closed_port()}"
    trifecta = [sys.executable, "-m", "trifecta"]
    compare = str(Path(args.compare).resolve()) if args.compare else None
    try:
        with tempfile.TemporaryDirectory(prefix="trifecta-otel-") as tmp:
            files = make_corpus(Path(tmp), args.files)
            variants: dict[str, dict[str, str]] = {
                "search_off": _env(None),
                "search_receiver": _env(None, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url),
                "search_closed_port": _env(None, OTEL_EXPORTER_OTLP_ENDPOINT=closed_url),
                "search_silent": _env(None, OTEL_EXPORTER_OTLP_ENDPOINT=silent_url),
            }
            if compare:
                variants["compare_search_off"] = _env(compare)
            subprocess.run(
                [*trifecta, "ctx", "build"],
                cwd=tmp,
                env=_env(None),
                check=True,
                capture_output=True,
            )
            for env in variants.values():
                _run([*trifecta, *SEARCH], tmp, env)
            samples: dict[str, list[int]] = {name: [] for name in variants}
            events: dict[str, list[float]] = {"event_off": [], "event_receiver": []}
            if compare:
                events["compare_event_off"] = []
            for _ in range(args.repeat):
                for name, env in variants.items():
                    samples[name].append(_run([*trifecta, *SEARCH], tmp, env))
            for _ in range(3):
                events["event_off"].append(_event_ns(tmp, _env(None), args.events))
                events["event_receiver"].append(
                    _event_ns(
                        tmp, _env(None, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url), args.events
                    )
                )
                if compare:
                    events["compare_event_off"].append(_event_ns(tmp, _env(compare), args.events))
    finally:
        receiver.close()
        silent.close()
    medians = {f"{name}_median_ms": median_ms(s) for name, s in samples.items()}
    off = medians["search_off_median_ms"]
    event_us = {
        f"{name}_median_us": round(sorted(v)[len(v) // 2] / 1000, 2) for name, v in events.items()
    }
    result: dict[str, object] = {
        "benchmark": "otel",
        "repeat": args.repeat,
        "files": files,
        **medians,
        **event_us,
        "receiver_vs_off": round(medians["search_receiver_median_ms"] / off, 3),
        "closed_port_added_ms": round(medians["search_closed_port_median_ms"] - off, 1),
        "silent_added_ms": round(medians["search_silent_median_ms"] - off, 1),
        "flush_timeout_ms": 200,
        "event_receiver_vs_off": round(
            event_us["event_receiver_median_us"] / event_us["event_off_median_us"], 3
        ),
    }
    if compare:
        result["compare"] = args.compare
        result["search_off_vs_compare"] = round(off / medians["compare_search_off_median_ms"], 3)
        result["event_off_vs_compare"] = round(
            event_us["event_off_median_us"] / event_us["compare_event_off_median_us"], 3
        )
    emit(result)


if __name__ == "__main__":
    main()
