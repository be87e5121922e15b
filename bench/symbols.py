"""Symbols: pyright cold start and warm latency, CLI resolve cold vs warm, fallback-only
latency, and how often the fallback agrees with pyright.

Prints JSON. Segments are standard-library packages copied to a temporary directory.
Usage: python -m bench.symbols [--repeat N] [--usages N] [--packages json,email,logging]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import emit, median_ms, percentile_ms

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SKIP_PACKAGES = {"site-packages", "test"}
READY_WAIT_MS = 120_000


@dataclass(frozen=True)
class Target:
    """A definition as ``ast`` reports it: the selector and the line of its def/class."""

    selector: str
    path: str
    line: int


def copy_packages(dest: Path, names: Iterable[str]) -> None:
    for name in names:
        shutil.copytree(
            STDLIB / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )


def copy_files_up_to(dest: Path, count: int) -> int:
    """Copy whole standard-library packages until ``count`` .py files are in ``dest``."""

    total = 0
    for package in sorted(p for p in STDLIB.iterdir() if p.is_dir()):
        if package.name in SKIP_PACKAGES or not (package / "__init__.py").exists():
            continue
        if total >= count:
            break
        copy_packages(dest, [package.name])
        total += sum(1 for _ in (dest / package.name).rglob("*.py"))
    for module in sorted(STDLIB.glob("*.py")):  # then top-level modules
        if total >= count:
            break
        shutil.copy2(module, dest / module.name)
        total += 1
    extra = dest / "stdtests"  # the rest from the test suite's top-level modules
    for module in sorted((STDLIB / "test").glob("test_*.py")):
        if total >= count:
            break
        extra.mkdir(exist_ok=True)
        shutil.copy2(module, extra / module.name)
        total += 1
    return total


def module_name(rel: str) -> str:
    return rel[: -len(".py")].removesuffix("/__init__").replace("/", ".")


def ast_targets(root: Path) -> list[Target]:
    """Every class, function and method (module and class bodies, nested classes too),
    first definition wins for a repeated qualified name."""

    targets: list[Target] = []
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root).as_posix()
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        seen: set[str] = set()

        def visit(body: list[ast.stmt], prefix: str, rel: str = rel, seen: set[str] = seen) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    qual = prefix + node.name
                    if qual not in seen:
                        seen.add(qual)
                        targets.append(Target(f"{module_name(rel)}:{qual}", rel, node.lineno))
                    if isinstance(node, ast.ClassDef):
                        visit(node.body, qual + ".")

        visit(tree.body, "")
    return targets


def usages(root: Path, limit: int, seed: int = 7) -> list[tuple[str, int, int]]:
    """Call sites ``f(...)`` / ``obj.f(...)``: (path, line, column of the called name)."""

    found: list[tuple[str, int, int]] = []
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root).as_posix()
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                found.append((rel, func.lineno, func.col_offset + 1))
            elif (
                isinstance(func, ast.Attribute)
                and func.end_col_offset is not None
                and func.end_lineno == func.lineno
            ):
                found.append((rel, func.lineno, func.end_col_offset - len(func.attr) + 1))
    random.Random(seed).shuffle(found)
    return found[:limit]


class Rig:
    """The use cases wired to real adapters, as the composition root wires them."""

    def __init__(self, root: Path, lsp: bool = True) -> None:
        from trifecta.adapters.filesystem.reader import LocalFileReader
        from trifecta.adapters.pyright.server import PyrightLanguageServer
        from trifecta.adapters.system.clock import SystemClock
        from trifecta.application.symbols.index import SymbolIndex
        from trifecta.application.symbols.use_cases import ResolvePosition, ResolveSelector
        from trifecta.application.telemetry.service import TelemetryService
        from trifecta.bootstrap.skeletons import skeleton_reader

        clock = SystemClock()
        self.telemetry = TelemetryService(None, clock, "bench")  # counters only, no sink
        reader = LocalFileReader(root)
        self.index = SymbolIndex(reader, skeleton_reader(reader))
        self.server = PyrightLanguageServer(root, clock) if lsp else None
        self.selector = ResolveSelector(self.server, self.index, self.telemetry, clock)
        self.position = ResolvePosition(self.server, self.index, reader, self.telemetry, clock)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()


def request(query: str, use_lsp: bool = True, timeout_ms: int = 10_000) -> Any:
    from trifecta.application.symbols.use_cases import SymbolRequest

    return SymbolRequest(query, timeout_ms=timeout_ms, ready_wait_ms=READY_WAIT_MS, use_lsp=use_lsp)


def selector_agreement(rig: Rig, targets: Sequence[Target], use_lsp: bool) -> dict[str, Any]:
    agree, by_lsp = 0, 0
    misses: list[dict[str, Any]] = []
    for target in targets:
        res = rig.selector.execute(request(target.selector, use_lsp))
        by_lsp += res.resolved_by == "lsp"
        lines = [(m.path, m.line) for m in res.matches]
        if lines[:1] == [(target.path, target.line)]:
            agree += 1
        elif len(misses) < 10:
            misses.append({"selector": target.selector, "ast": target.line, "got": lines[:1]})
    return {
        "selectors": len(targets),
        "agree": agree,
        "share": round(agree / max(len(targets), 1), 4),
        "answered_by_lsp": by_lsp,
        "misses_sample": misses,
    }


def cold_start(root: Path) -> dict[str, float]:
    """Spawn -> initialize -> ready (first believed definition), in-process."""

    from trifecta.adapters.pyright.server import PyrightLanguageServer
    from trifecta.adapters.system.clock import SystemClock

    target = next(iter(usages(root, 1)))
    server = PyrightLanguageServer(root, SystemClock())
    events: dict[str, float] = {}
    start = time.perf_counter_ns()

    def note(name: str, fields: Any) -> None:
        events.setdefault(name, (time.perf_counter_ns() - start) / 1e6)

    server.start(note)
    server.wait_ready(READY_WAIT_MS)
    scan_ms = (time.perf_counter_ns() - start) / 1e6
    server.definition(*target, 10_000)
    ready_ms = (time.perf_counter_ns() - start) / 1e6
    server.shutdown()
    return {
        "initialize_ms": round(events.get("lsp.initialize", 0.0), 1),
        "scan_done_ms": round(scan_ms, 1),
        "ready_ms": round(ready_ms, 1),
    }


def warm_definitions(rig: Rig, sites: Sequence[tuple[str, int, int]]) -> dict[str, Any]:
    assert rig.server is not None
    rig.server.start()
    rig.server.wait_ready(READY_WAIT_MS)
    for site in sites[:20]:  # warm the files pyright binds lazily
        rig.server.definition(*site, 10_000)
    samples = []
    for site in sites:
        t = time.perf_counter_ns()
        rig.server.definition(*site, 10_000)
        samples.append(time.perf_counter_ns() - t)
    return {
        "requests": len(samples),
        "p50_ms": median_ms(samples),
        "p95_ms": percentile_ms(samples, 0.95),
    }


def usage_agreement(rig: Rig, sites: Sequence[tuple[str, int, int]]) -> dict[str, Any]:
    """Where pyright names a location inside the segment, does the fallback name the same?"""

    compared = same = contains = ambiguous = 0
    fallback_ns = []
    for path, line, column in sites:
        query = f"{path}:{line}:{column}"
        lsp = rig.position.execute(request(query))
        if lsp.resolved_by != "lsp" or not lsp.matches:
            continue
        t = time.perf_counter_ns()
        fb = rig.position.execute(request(query, use_lsp=False))
        fallback_ns.append(time.perf_counter_ns() - t)
        compared += 1
        want = (lsp.matches[0].path, lsp.matches[0].line)
        got = [(m.path, m.line) for m in fb.matches]
        same += got == [want]
        contains += want in got
        ambiguous += fb.ambiguous
    return {
        "usages_sampled": len(sites),
        "compared": compared,
        "same_location": same,
        "same_share": round(same / max(compared, 1), 4),
        "among_candidates_share": round(contains / max(compared, 1), 4),
        "fallback_ambiguous": ambiguous,
        "fallback_in_process_median_ms": median_ms(fallback_ns) if fallback_ns else None,
    }


def timed(argv: Sequence[str]) -> int:
    """One run of a command, in ns (its exit status is not the point here)."""

    start = time.perf_counter_ns()
    subprocess.run(argv, capture_output=True, check=False)
    return time.perf_counter_ns() - start


def cli(root: Path, *args: str) -> list[str]:
    exe = str(Path(sys.executable).parent / "trifecta")
    return [exe, "--segment", str(root), "--telemetry", "off", *args]


def cli_latency(
    root: Path, selector: str, sites: Sequence[tuple[str, int, int]], repeat: int
) -> dict[str, Any]:
    """End-to-end ``trifecta ast resolve``: fallback-only, cold (no warm server, autostart
    off), and warm (through the background server); ``ast definition`` fallback-only over
    different call sites (the skeleton cache warmed by a first pass)."""

    state = root / "_ctx"
    state.mkdir(exist_ok=True)
    config = state / "trifecta.toml"
    baseline = [sys.executable, "-c", "pass"]
    no_lsp = cli(root, "ast", "resolve", selector, "--no-lsp")
    resolve = cli(root, "ast", "resolve", selector)
    positions = [cli(root, "ast", "definition", f"{p}:{ln}:{c}", "--no-lsp") for p, ln, c in sites]
    for argv in [no_lsp, *positions]:  # fill the skeleton cache and the name table
        subprocess.run(argv, capture_output=True, check=False)
    # cold: no warm server, autostart off; interleaved with the baseline
    config.write_text("[lsp]\nautostart = false\n")
    cold_ns, cold_base_ns = [], []
    for _ in range(repeat):
        cold_base_ns += [timed(baseline)]
        cold_ns += [timed(resolve)]
    config.unlink()
    # warm: the background server running; baseline, fallback-only, warm and positions
    # interleaved round by round so machine noise hits them alike
    subprocess.run(cli(root, "lsp", "start"), check=True, capture_output=True, timeout=300)
    answer = subprocess.run([*resolve, "--json"], capture_output=True, text=True, check=False)
    warm_by = json.loads(answer.stdout)["resolved_by"]
    base_ns: list[int] = []
    no_lsp_ns: list[int] = []
    warm_ns: list[int] = []
    position_ns: list[int] = []
    for i in range(max(repeat, len(positions))):
        base_ns += [timed(baseline)]
        no_lsp_ns += [timed(no_lsp)]
        warm_ns += [timed(resolve)]
        position_ns += [timed(positions[i % len(positions)])]
    subprocess.run(cli(root, "lsp", "stop"), check=True, capture_output=True, timeout=60)
    base, warm, fallback = median_ms(base_ns), median_ms(warm_ns), median_ms(no_lsp_ns)
    return {
        "python_pass_median_ms": base,
        "fallback_only_median_ms": fallback,
        "definition_fallback_only_median_ms": median_ms(position_ns),
        "definition_fallback_only_p95_ms": percentile_ms(position_ns, 0.95),
        "definition_sites": len(positions),
        "cold_median_ms": median_ms(cold_ns),
        "cold_python_pass_median_ms": median_ms(cold_base_ns),
        "warm_median_ms": warm,
        "warm_resolved_by": warm_by,
        "warm_ratio_to_python_pass": round(warm / base, 2),
        "fallback_ratio_to_python_pass": round(fallback / base, 2),
        "warm_ratio_to_fallback": round(warm / fallback, 2),
    }


def main() -> None:
    # Measure the CLI as installed: byte-code caching on (this sandbox disables it).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--usages", type=int, default=300)
    parser.add_argument("--packages", default="json,email,logging")
    parser.add_argument("--big-files", type=int, default=1100)
    args = parser.parse_args()
    packages = args.packages.split(",")
    result: dict[str, Any] = {"benchmark": "symbols", "repeat": args.repeat}
    with tempfile.TemporaryDirectory(prefix="trifecta-bench-") as tmp:
        small = Path(tmp) / "stdlib3"
        copy_packages(small, packages)
        targets = ast_targets(small)
        result["packages"] = packages
        result["cold_start"] = [cold_start(small) for _ in range(3)]
        result["cold_ready_median_ms"] = statistics.median(
            r["ready_ms"] for r in result["cold_start"]
        )
        rig = Rig(small)
        try:
            result["selectors_by_lsp"] = selector_agreement(rig, targets, use_lsp=True)
            result["selectors_by_fallback"] = selector_agreement(rig, targets, use_lsp=False)
            sites = usages(small, args.usages)
            result["warm_definition"] = warm_definitions(rig, sites)
            result["usage_agreement"] = usage_agreement(rig, sites)
        finally:
            rig.close()
        big = Path(tmp) / "big"
        result["big_segment_py_files"] = copy_files_up_to(big, args.big_files)
        big_target = ast_targets(big)[len(ast_targets(big)) // 2]
        result["cli_selector"] = big_target.selector
        result["cli"] = cli_latency(big, big_target.selector, usages(big, 15), args.repeat)
    emit(result)


if __name__ == "__main__":
    main()
