"""Startup cost of the CLI against `python -c pass`, measured in the same run.

Measures (medians of N interleaved rounds; each round runs every variant once):
`trifecta --version`, `--help`, and end to end (new process per call) `ctx search` and
`ast resolve --no-lsp` on a standard-library segment (pack built, skeleton cache and name
table warm). With `--compare DIR` the same commands also run against another source tree
of trifecta (e.g. `git archive main`), put first on PYTHONPATH, in the same rounds, and
the ratios new/old are printed.

With `--large-copies N [N ...]` the standard library (with its tests) copied N times
(`bench.build.make_corpus`, 1,791 files a copy) is a further segment for each N, and
`ctx search` there joins the rounds as `search_large` (the first N) and
`search_copies_<N>` (issue 12: end to end on a 3,000+-file and a ~15,000-file
segment). Every variant also reports the median CPU time (user + sys) of its process,
which the machine's load disturbs less than the wall clock, and the load average before
and after.

With `--served`, a search server (`ctx serve`) runs for every segment, and each search
variant is also measured through it (`*_served`: the CLI's start, forwarding and the
server's answer), against the same search answered by the CLI alone in the same rounds
(every other variant runs with `TRIFECTA_SEARCH_SERVER=off`).

Prints JSON. Usage: python -m bench.startup [--repeat N] [--files N] [--compare DIR]
[--large-copies N [N ...]] [--served]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench._common import emit, median_ms

SEARCH = ("ctx", "search", "-q", "HTTPServer")
RESOLVE = ("ast", "resolve", "--no-lsp", "stdlib.json.decoder:JSONDecoder")


CPU: dict[str, list[int]] = {}


def _run(argv: Sequence[str], cwd: str, env: dict[str, str], name: str = "") -> int:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter_ns()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter_ns() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    CPU.setdefault(name, []).append(int(cpu * 1e9))
    return wall


def _env(pythonpath: str | None, served: bool = False) -> dict[str, str]:
    """No TRIFECTA_* settings; byte-code caching on, as installed; no search server unless
    ``served`` (then the segment's running one answers)."""

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIFECTA_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["TRIFECTA_SEARCH_SERVER"] = "auto" if served else "off"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _serve(trifecta: list[str], where: str) -> subprocess.Popen[bytes]:
    """A search server for the segment ``where``, answering when this returns."""

    proc = subprocess.Popen(
        [*trifecta, "-s", where, "ctx", "serve", "--idle-timeout-s", "3600"],
        env=_env(None, served=True),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        status = subprocess.run(
            [*trifecta, "-s", where, "ctx", "serve", "--status", "--json"],
            env=_env(None, served=True),
            capture_output=True,
            text=True,
            check=True,
        )
        if '"running": true' in status.stdout:
            return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the search server for {where} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--compare", default=None, help="another trifecta source tree")
    parser.add_argument(
        "--large-copies",
        type=int,
        nargs="+",
        default=[],
        help="further segments: the stdlib N times, for each N",
    )
    parser.add_argument(
        "--served",
        action="store_true",
        help="also each search through a running search server (`ctx serve`)",
    )
    args = parser.parse_args()
    from bench.build import make_corpus as make_large
    from bench.packs import make_corpus

    load_before = os.getloadavg()

    py = sys.executable
    trifecta = [py, "-P", "-m", "trifecta"]  # -P: the segment (cwd) shadows no module
    with tempfile.TemporaryDirectory(prefix="trifecta-startup-") as tmp:
        seg = str(Path(tmp) / "small")
        files = make_corpus(Path(seg), args.files)
        larges = {n: str(Path(tmp) / f"copies-{n}") for n in args.large_copies}
        large_counts = {n: len(make_large(Path(where), n)) for n, where in larges.items()}
        trees: dict[str, str | None] = {"": None}
        if args.compare:
            trees["compare_"] = str(Path(args.compare).resolve())
        variants: dict[str, tuple[list[str], dict[str, str]]] = {
            "python_pass": ([py, "-c", "pass"], _env(None))
        }
        for prefix, tree in trees.items():
            env = _env(tree)
            variants[f"{prefix}version"] = ([*trifecta, "--version"], env)
            variants[f"{prefix}help"] = ([*trifecta, "--help"], env)
            variants[f"{prefix}search"] = ([*trifecta, *SEARCH], env)
            variants[f"{prefix}resolve_no_lsp"] = ([*trifecta, *RESOLVE], env)
            for i, (n, where) in enumerate(larges.items()):
                name = f"{prefix}search_large" if i == 0 else f"{prefix}search_copies_{n}"
                variants[name] = ([*trifecta, "-s", where, *SEARCH], env)
        if args.served:
            served_env = _env(None, served=True)
            variants["search_served"] = ([*trifecta, *SEARCH], served_env)
            for i, (n, where) in enumerate(larges.items()):
                name = "search_large_served" if i == 0 else f"search_copies_{n}_served"
                variants[name] = ([*trifecta, "-s", where, *SEARCH], served_env)
        env = _env(None)
        for where in (seg, *larges.values()):
            subprocess.run(
                [*trifecta, "ctx", "build"], cwd=where, env=env, check=True, capture_output=True
            )
        servers = []
        if args.served:
            servers = [_serve(trifecta, where) for where in (seg, *larges.values())]
        for argv, env in variants.values():  # warm caches, .pyc files, name table
            _run(argv, seg, env)
        CPU.clear()
        samples: dict[str, list[int]] = {name: [] for name in variants}
        try:
            for _ in range(args.repeat):
                for name, (argv, env) in variants.items():
                    samples[name].append(_run(argv, seg, env, name))
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=30)
    medians = {f"{name}_median_ms": median_ms(s) for name, s in samples.items()}
    cpu = {f"{name}_cpu_median_ms": median_ms(s) for name, s in CPU.items()}
    base = medians["python_pass_median_ms"]
    result: dict[str, object] = {
        "benchmark": "startup",
        "repeat": args.repeat,
        "files": files,
        "large_files": next(iter(large_counts.values()), 0),
        "files_per_copies": {str(n): count for n, count in large_counts.items()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **medians,
        **cpu,
        "version_ratio": round(medians["version_median_ms"] / base, 2),
        "help_ratio": round(medians["help_median_ms"] / base, 2),
        "search_ratio": round(medians["search_median_ms"] / base, 2),
        "resolve_no_lsp_ratio": round(medians["resolve_no_lsp_median_ms"] / base, 2),
        "search_budget_ms": 150,
        "version_budget_ratio": 3.0,
        "help_budget_ratio": 4.0,
    }
    larges_names = [
        "search_large" if i == 0 else f"search_copies_{n}" for i, n in enumerate(larges)
    ]
    for name in larges_names:
        result[f"{name}_ratio"] = round(medians[f"{name}_median_ms"] / base, 2)
    if args.served:
        for name in ["search", *larges_names]:
            served = medians[f"{name}_served_median_ms"]
            result[f"{name}_served_ratio"] = round(served / base, 2)
            result[f"{name}_served_vs_local"] = round(served / medians[f"{name}_median_ms"], 3)
    if args.compare:
        result["compare"] = args.compare
        names = ["version", "help", "search", "resolve_no_lsp"]
        for name in names + larges_names:
            new, old = medians[f"{name}_median_ms"], medians[f"compare_{name}_median_ms"]
            result[f"{name}_vs_compare"] = round(new / old, 3)
        result["vs_compare_budget"] = 1.2
    emit(result)


if __name__ == "__main__":
    main()
