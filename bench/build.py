"""Build and sync speed on a real corpus, against the floor measured in the same run.

Corpus ``small``: a copy of the running Python's standard library, ``test/`` included
(``site-packages`` left out), every ``.py`` and ``.md`` file. Corpus ``large``: that copy
10 times under ``c0/`` .. ``c9/``. The floor: one process running ``ast.parse`` over the
same ``.py`` files (read included), timed right before each build: a build's ratio is
its wall over its own floor, and the figure is the median ratio. Each build runs the real CLI
(``trifecta ctx build``) in a child process; its CPU is the children's rusage, its peak
memory the largest sum over the build process and its workers of RSS and of PSS (pages
shared by forked workers counted once), sampled from ``/proc`` (RSS every 10 ms, PSS every
100 ms). Then: ``ctx
sync`` with nothing changed (and whether it wrote anything), ``ctx sync`` after one file
changed, and ``ctx search`` end to end.

Prints JSON. Usage: python -m bench.build [--corpus small|large|both] [--builds 3]
[--repeat 11] [--jobs 0] [--skip-serial large]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench._common import emit, median_ms

# The children write their bytecode caches (as an installed trifecta has them), whatever
# this environment says: otherwise every CLI run would compile the package again.
# The end-to-end search is the CLI alone: no search server (``bench.startup --served``).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["TRIFECTA_SEARCH_SERVER"] = "off"
QUERIES = ("HTTPServer", "json decoder", "ThreadPoolExecutor", "namedtuple", "copytree")


def stdlib_files() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return sorted(
        p
        for p in stdlib.rglob("*")
        if p.suffix in (".py", ".md")
        and "site-packages" not in p.parts
        and "__pycache__" not in p.parts
        and p.is_file()
        and not p.is_symlink()
    )


def make_corpus(target: Path, copies: int) -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    made = []
    for path in stdlib_files():
        rel = path.relative_to(stdlib)
        for i in range(copies):
            dest = target / (f"c{i}" if copies > 1 else "") / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            made.append(dest)
    return made


def ast_floor(files: list[Path]) -> int:
    """Wall ns of reading and ``ast.parse``-ing every ``.py`` file in this process."""

    start = time.perf_counter_ns()
    for path in files:
        if path.suffix != ".py":
            continue
        source = path.read_bytes()
        with contextlib.suppress(SyntaxError, ValueError):
            ast.parse(source)
    return time.perf_counter_ns() - start


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return out


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PSS_EVERY = 10  # samples between two PSS readings (smaps_rollup walks the page tables)


def _rss_kb(pid: int) -> int:
    """RSS of one process in KiB from ``statm`` (counters only: cheap to read often)."""

    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB. PSS splits pages shared with the forked workers
    among the processes sharing them, so its sum over the tree counts each page once."""

    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def run_measured(argv: list[str]) -> dict[str, float]:
    """Wall, CPU (user+sys of the whole tree) and peak tree RSS of one command."""

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter_ns()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    peak = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        # RSS every 10 ms from statm; PSS every 100 ms: reading smaps_rollup walks the
        # target's page tables under its memory lock, and at 100 Hz it stalled the build it
        # measured (allocations wait for it: up to +60 % wall on the standard-library copy).
        nonlocal peak, peak_pss
        n = 0
        while not done.is_set():
            pids = _tree(proc.pid)
            peak = max(peak, sum(_rss_kb(p) for p in pids))
            if n % PSS_EVERY == 0:
                peak_pss = max(peak_pss, sum(_memory_kb(p)[1] for p in pids))
            n += 1
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter_ns() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv} failed: {err.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_ns": wall,
        "cpu_s": cpu,
        "peak_rss_mb": round(peak / 1024, 1),
        "peak_pss_mb": round(peak_pss / 1024, 1),
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _stamps(corpus: Path) -> tuple[int, int]:
    ctx = corpus / "_ctx"
    return (
        (ctx / "context_pack.json").stat().st_mtime_ns,
        (ctx / "context_index.sqlite").stat().st_mtime_ns,
    )


def measure(name: str, copies: int, args: argparse.Namespace, exe: str) -> dict[str, Any]:
    jobs_flag = _supports(exe, "--jobs")
    with tempfile.TemporaryDirectory(prefix="trifecta-bench-build-") as tmp:
        corpus = Path(tmp) / "corpus"
        files = make_corpus(corpus, copies)
        base = [exe, "--segment", str(corpus)]
        quiet = ["--quiet"] if _supports(exe, "--quiet") else []
        ast_floor(files)  # warm the page cache
        floors: list[int] = []
        figures: dict[str, Any] = {
            "files": len(files),
            "py_files": sum(1 for f in files if f.suffix == ".py"),
            "bytes": sum(f.stat().st_size for f in files),
        }
        all_jobs = args.jobs or (os.cpu_count() or 1)
        serial = [] if name in args.skip_serial else [1]
        job_counts = [*serial, all_jobs] if jobs_flag else [0]
        for jobs in dict.fromkeys(job_counts):
            runs: list[dict[str, float]] = []
            ratios: list[float] = []
            for _ in range(args.builds):
                # Each build is paired with a floor measured just before it: on a shared
                # machine the speed drifts within a run, and a ratio of neighbours drifts
                # least (the figure is the median of the pairs' ratios).
                floors.append(ast_floor(files))
                shutil.rmtree(corpus / "_ctx", ignore_errors=True)
                argv = [*base, "ctx", "build", *quiet] + (["--jobs", str(jobs)] if jobs else [])
                runs.append(run_measured(argv))
                ratios.append(int(runs[-1]["wall_ns"]) / floors[-1])
            key = f"build_jobs_{jobs}" if jobs else "build"
            wall = median_ms([int(r["wall_ns"]) for r in runs])
            figures[key] = {
                "wall_median_ms": wall,
                "cpu_median_s": round(_median([r["cpu_s"] for r in runs]), 3),
                "peak_rss_sum_median_mb": _median([r["peak_rss_mb"] for r in runs]),
                "peak_pss_sum_median_mb": _median([r["peak_pss_mb"] for r in runs]),
                "ratio_to_ast_floor": round(_median(ratios), 3),
                "ratios_to_paired_floor": [round(r, 3) for r in ratios],
            }
        figures["ast_parse_floor_ms"] = median_ms(floors)
        full_key = f"build_jobs_{job_counts[-1]}" if jobs_flag else "build"
        full_ms = figures[full_key]["wall_median_ms"]
        noop, wrote = [], []
        for _ in range(args.builds):
            stamps = _stamps(corpus)
            noop.append(int(run_measured([*base, "ctx", "sync", *quiet])["wall_ns"]))
            wrote.append(_stamps(corpus) != stamps)
        one = []
        targets = sorted(f for f in files if f.suffix == ".py")
        for i in range(args.builds):
            target = targets[(i * 97) % len(targets)]
            with target.open("a") as handle:
                handle.write("\n# touched by bench\n")
            one.append(int(run_measured([*base, "ctx", "sync", *quiet])["wall_ns"]))
        search = []
        for i in range(args.repeat):
            argv = [*base, "ctx", "search", "-q", QUERIES[i % len(QUERIES)]]
            search.append(int(run_measured(argv)["wall_ns"]))
        figures.update(
            {
                "full_build_ms": full_ms,
                "sync_nothing_changed_median_ms": median_ms(noop),
                "sync_nothing_changed_ratio_to_build": round(median_ms(noop) / full_ms, 4),
                "sync_nothing_changed_wrote": any(wrote),
                "sync_one_file_median_ms": median_ms(one),
                "sync_one_file_ratio_to_build": round(median_ms(one) / full_ms, 4),
                "search_cli_median_ms": median_ms(search),
            }
        )
        return {name: figures}


def _supports(exe: str, flag: str) -> bool:
    """Whether ``ctx build`` takes ``flag`` (so the benchmark also runs on older builds)."""

    out = subprocess.run([exe, "ctx", "build", "--help"], capture_output=True, text=True, env=ENV)
    return flag in out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", choices=("small", "large", "both"), default="small")
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--jobs", type=int, default=0, help="all-worker count (0: all cores)")
    parser.add_argument(
        "--skip-serial",
        nargs="*",
        default=[],
        choices=("small", "large"),
        help="corpora built only with all workers (the large serial build is slow)",
    )
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "trifecta")
    result: dict[str, Any] = {"benchmark": "build", "cpu_count": os.cpu_count()}
    if args.corpus in ("small", "both"):
        result.update(measure("small", 1, args, exe))
    if args.corpus in ("large", "both"):
        result.update(measure("large", 10, args, exe))
    if "small" in result and "large" in result:
        result["large_to_small_build_ratio"] = round(
            result["large"]["full_build_ms"] / result["small"]["full_build_ms"], 2
        )
    emit(result)


if __name__ == "__main__":
    main()
