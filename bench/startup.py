"""Startup cost of the CLI against `python -c pass`, measured in the same run.

Measures (medians of N interleaved rounds; each round runs every variant once):
`trifecta --version`, `--help`, and end to end (new process per call) `ctx search` and
`ast resolve --no-lsp` on a standard-library segment (pack built, skeleton cache and name
table warm). With `--compare DIR` the same commands also run against another source tree
of trifecta (e.g. `git archive main`), put first on PYTHONPATH, in the same rounds, and
the ratios new/old are printed.

Prints JSON. Usage: python -m bench.startup [--repeat N] [--files N] [--compare DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench._common import emit, median_ms

SEARCH = ("ctx", "search", "-q", "HTTPServer")
RESOLVE = ("ast", "resolve", "--no-lsp", "stdlib.json.decoder:JSONDecoder")


def _run(argv: Sequence[str], cwd: str, env: dict[str, str]) -> int:
    start = time.perf_counter_ns()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter_ns() - start


def _env(pythonpath: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIFECTA_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte-code caching on, as installed
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--compare", default=None, help="another trifecta source tree")
    args = parser.parse_args()
    from bench.packs import make_corpus

    py = sys.executable
    trifecta = [py, "-m", "trifecta"]
    with tempfile.TemporaryDirectory(prefix="trifecta-startup-") as tmp:
        files = make_corpus(Path(tmp), args.files)
        seg = tmp
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
        env = _env(None)
        subprocess.run(
            [*trifecta, "ctx", "build"], cwd=seg, env=env, check=True, capture_output=True
        )
        for argv, env in variants.values():  # warm caches, .pyc files, name table
            _run(argv, seg, env)
        samples: dict[str, list[int]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, (argv, env) in variants.items():
                samples[name].append(_run(argv, seg, env))
    medians = {f"{name}_median_ms": median_ms(s) for name, s in samples.items()}
    base = medians["python_pass_median_ms"]
    result: dict[str, object] = {
        "benchmark": "startup",
        "repeat": args.repeat,
        "files": files,
        **medians,
        "version_ratio": round(medians["version_median_ms"] / base, 2),
        "help_ratio": round(medians["help_median_ms"] / base, 2),
        "search_ratio": round(medians["search_median_ms"] / base, 2),
        "resolve_no_lsp_ratio": round(medians["resolve_no_lsp_median_ms"] / base, 2),
        "version_budget_ratio": 3.0,
        "help_budget_ratio": 4.0,
    }
    if args.compare:
        result["compare"] = args.compare
        for name in ("version", "help", "search", "resolve_no_lsp"):
            new, old = medians[f"{name}_median_ms"], medians[f"compare_{name}_median_ms"]
            result[f"{name}_vs_compare"] = round(new / old, 3)
        result["vs_compare_budget"] = 1.2
    emit(result)


if __name__ == "__main__":
    main()
