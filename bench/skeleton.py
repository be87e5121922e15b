"""Skeleton benchmark over the Python standard library found on this machine.

Prints JSON. In the same run, on the same files (rounds interleaved, medians reported):
- cold skeleton throughput (``AstSkeletonParser.parse``, no cache) vs bare ``ast.parse``;
- ``TreeSitterSkeletonParser.parse`` vs bare Tree-sitter ``Parser.parse``;
- cache hits: ``SqliteSkeletonCache.get`` alone, and the whole ``ExtractSkeleton`` use case on
  a hit (read + sha256 + lookup + render), in ms per file;
- rendered stub size / source size;
- fidelity: the share of ``def``/``class`` nodes ``ast.walk`` sees that each parser reports,
  and how many files the two parsers agree on exactly;
- end to end: ``trifecta ast skeleton`` (a real process) on a generated 3,000-line file.

Usage: python -m bench.skeleton [--rounds N] [--step K] [--e2e-repeat N]
(``--step K`` keeps every K-th file, for a quicker run.)
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench._common import emit, median_ms, time_process
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.python_ast.parser import AstSkeletonParser
from trifecta.adapters.sqlite_cache.cache import SqliteSkeletonCache
from trifecta.adapters.system.clock import SystemClock
from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser, _load, _Walker
from trifecta.application.skeletons.stub import render_stub
from trifecta.application.skeletons.use_cases import ExtractSkeleton
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import ParseFailed


def stdlib_files(step: int) -> tuple[Path, list[tuple[str, str]]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    files = []
    for path in paths[::step]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        files.append((path.relative_to(root).as_posix(), text))
    return root, files


def timed(fn: Any) -> int:
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def throughput(rounds: int, parseable: list[tuple[str, str]]) -> dict[str, Any]:
    """Per file, the baseline and our parser are timed back to back (their order swapped
    from one file to the next), so the load of this shared machine falls on both alike; each
    round sums the per-file times, and the ratios are medians over rounds."""

    encoded = [t.encode("utf-8") for _, t in parseable]
    total_mb = sum(len(b) for b in encoded) / 1e6
    exact, tolerant = AstSkeletonParser(), TreeSitterSkeletonParser()
    ts_parser, _ = _load()
    clock = time.perf_counter_ns
    keys = ("ast", "skel", "skel_render", "ts", "ts_skel")
    samples: dict[str, list[int]] = {k: [] for k in keys}
    for rel, text in parseable:  # warm imports and regex caches
        exact.parse(text, rel)
        tolerant.parse(text, rel)
    for round_ in range(rounds):
        total = dict.fromkeys(keys, 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for index, ((rel, text), data) in enumerate(zip(parseable, encoded, strict=True)):
                order = keys if (index + round_) % 2 else keys[::-1]
                for key in order:
                    start = clock()
                    if key == "ast":
                        ast.parse(text)
                    elif key == "skel":
                        exact.parse(text, rel)
                    elif key == "skel_render":
                        render_stub(exact.parse(text, rel))
                    elif key == "ts":
                        ts_parser.parse(data)
                    else:
                        tolerant.parse(text, rel)
                    total[key] += clock() - start
        for key in keys:
            samples[key].append(total[key])

    def rate(key: str) -> dict[str, float]:
        seconds = statistics.median(samples[key]) / 1e9
        return {
            "files_per_s": round(len(parseable) / seconds, 1),
            "mb_per_s": round(total_mb / seconds, 2),
            "median_s": round(seconds, 3),
        }

    def ratios(ours: str, base: str) -> dict[str, float]:
        per_round = [b / o for o, b in zip(samples[ours], samples[base], strict=True)]
        return {
            "median": round(statistics.median(per_round), 3),
            "min": round(min(per_round), 3),
            "max": round(max(per_round), 3),
        }

    return {
        "files": len(parseable),
        "megabytes": round(total_mb, 2),
        "bare_ast_parse": rate("ast"),
        "ast_skeleton": rate("skel"),
        "ast_skeleton_plus_render": rate("skel_render"),
        "bare_tree_sitter_parse": rate("ts"),
        "tree_sitter_skeleton": rate("ts_skel"),
        "ratio_ast_skeleton_vs_bare_ast": ratios("skel", "ast"),
        "ratio_ast_skeleton_plus_render_vs_bare_ast": ratios("skel_render", "ast"),
        "ratio_tree_sitter_skeleton_vs_bare_tree_sitter": ratios("ts_skel", "ts"),
        "acceptance_ratio": 0.8,
    }


def fidelity(files: list[tuple[str, str]]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    exact, tolerant = AstSkeletonParser(), TreeSitterSkeletonParser()
    parseable: list[tuple[str, str]] = []
    seen_total = 0
    found = {"ast": 0, "tree_sitter": 0}
    agree = ts_partial = 0
    source_bytes = stub_bytes = 0
    for rel, text in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        parseable.append((rel, text))
        seen = {
            (n.lineno, n.name)
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        seen_total += len(seen)
        a = exact.parse(text, rel)
        t = tolerant.parse(text, rel)
        for name, skeleton in (("ast", a), ("tree_sitter", t)):
            got = {(e.line_start, e.name) for e in skeleton.entries if e.kind != "constant"}
            found[name] += len(seen & got)
        agree += a.entries == t.entries and a.module_doc == t.module_doc
        ts_partial += t.partial
        source_bytes += len(text.encode("utf-8"))
        stub_bytes += len(render_stub(a).encode("utf-8"))
    return {
        "files_ast_parses": len(parseable),
        "def_class_nodes": seen_total,
        "fidelity_ast": round(found["ast"] / seen_total, 6),
        "fidelity_tree_sitter": round(found["tree_sitter"] / seen_total, 6),
        "files_parsers_agree": agree,
        "files_tree_sitter_partial": ts_partial,
        "stub_to_source_size_ratio": round(stub_bytes / source_bytes, 4),
    }, parseable


def recovery(parseable: list[tuple[str, str]]) -> dict[str, Any]:
    """Break each file with an unclosed bracket in its middle (at that line's indentation)
    and count the definitions ``ast`` sees in the intact file that Tree-sitter still reports
    (by line and name): with the chunked recovery, and with the whole-file tree alone."""

    tolerant = TreeSitterSkeletonParser()
    ts_parser, _ = _load()
    seen_total = recovered = whole_tree = broken_files = 0
    for rel, text in parseable[::4]:
        lines = text.split("\n")
        middle = next((i for i in range(len(lines) // 2, len(lines)) if lines[i].strip()), None)
        if middle is None:
            continue
        indent = lines[middle][: len(lines[middle]) - len(lines[middle].lstrip())]
        broken = "\n".join([*lines[:middle], f"{indent}broken = (1,", *lines[middle:]])

        def shifted(line: int, cut: int = middle) -> int:
            return line + 1 if line > cut else line

        seen = {
            (shifted(n.lineno), n.name)
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        try:
            ast.parse(broken)
            continue  # the line fell inside a string: nothing broke
        except SyntaxError:
            pass
        broken_files += 1
        skeleton = tolerant.parse(broken, rel)
        assert skeleton.partial
        got = {(e.line_start, e.name) for e in skeleton.entries if e.kind != "constant"}
        walker = _Walker(broken)
        walker.children(ts_parser.parse(broken.encode("utf-8")).root_node, (), False)
        plain = {(e.line_start, e.name) for e in walker.entries if e.kind != "constant"}
        seen_total += len(seen)
        recovered += len(seen & got)
        whole_tree += len(seen & plain)
    return {
        "files": broken_files,
        "def_class_nodes": seen_total,
        "recovered_share": round(recovered / seen_total, 4),
        "whole_file_tree_share": round(whole_tree / seen_total, 4),
    }


def cache_hits(root: Path, files: list[tuple[str, str]], workdir: Path) -> dict[str, Any]:
    segment = workdir / "stdlib"
    sample = files[:: max(1, len(files) // 400)]
    for rel, _ in sample:
        (segment / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, segment / rel)
    clock = SystemClock()
    cache = SqliteSkeletonCache(segment / "_ctx" / "cache" / "skeletons.sqlite3", clock)
    extract = ExtractSkeleton(
        LocalFileReader(segment),
        AstSkeletonParser(),
        TreeSitterSkeletonParser(),
        cache,
        clock,
        TelemetryService(None, clock, "bench", level="off"),
    )
    for rel, _ in sample:
        extract.execute(rel)  # fill the cache
    exact = AstSkeletonParser()
    keys = []
    for rel, _ in sample:
        keys.append(hashlib.sha256((segment / rel).read_bytes()).hexdigest())
    get_ns, hit_ns, miss_parse_ns = [], [], []
    for _ in range(3):
        get_ns.append(
            timed(lambda: [cache.get(k, exact.name, exact.version) for k in keys]) // len(keys)
        )
        hit_ns.append(timed(lambda: [extract.execute(rel) for rel, _ in sample]) // len(keys))
    assert all(extract.execute(rel).cache_hit for rel, _ in sample)
    for rel, text in sample:
        miss_parse_ns.append(timed(lambda t=text, r=rel: exact.parse(t, r)))
    cache.close()
    return {
        "files": len(sample),
        "cache_get_ms_per_file": median_ms(get_ns),
        "extract_hit_ms_per_file": median_ms(hit_ns),
        "cold_parse_ms_per_file_median": median_ms(miss_parse_ns),
        "budget_ms": 0.5,
    }


def end_to_end(workdir: Path, repeat: int) -> dict[str, Any]:
    segment = workdir / "e2e"
    segment.mkdir()
    lines = ['"""A generated 3,000-line module."""', "import os", ""]
    n = 0
    while len(lines) < 3000:
        lines += [
            f"class Service{n}(Base):",
            f'    """Service {n}."""',
            "",
            f"    def handle(self, request: dict[str, int], *, retries: int = {n}) -> bool:",
            "        total = 0",
            "        for key, value in request.items():",
            "            total += value",
            "        return total > retries",
            "",
            "    async def fetch(self, url: str, timeout: float = 1.0) -> bytes:",
            "        return await self.client.get(url, timeout=timeout)",
            "",
            "",
        ]
        n += 1
    (segment / "big.py").write_text("\n".join(lines[:3000]) + "\n")
    exe = str(Path(sys.executable).parent / "trifecta")
    argv = [exe, "--segment", str(segment), "--telemetry", "off", "ast", "skeleton", "big.py"]
    # As installed normally: bytecode caches may be written (this sandbox sets
    # PYTHONDONTWRITEBYTECODE, which would recompile every module on every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def once() -> None:
        subprocess.run(argv, check=True, capture_output=True, env=env)

    once()
    cold: list[int] = []
    for _ in range(repeat):
        shutil.rmtree(segment / "_ctx", ignore_errors=True)
        cold.append(timed(once))
    warm = [timed(once) for _ in range(repeat)]
    baseline = time_process([sys.executable, "-c", "pass"], repeat)
    output = subprocess.run(argv, check=True, capture_output=True, text=True, env=env).stdout
    return {
        "lines": 3000,
        "cold_cache_median_ms": median_ms(cold),
        "warm_cache_median_ms": median_ms(warm),
        "python_pass_median_ms": median_ms(baseline),
        "output_lines": len(output.splitlines()),
        "budget_ms": 300,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--e2e-repeat", type=int, default=7)
    args = parser.parse_args()
    root, files = stdlib_files(args.step)
    fid, parseable = fidelity(files)
    result: dict[str, Any] = {"benchmark": "skeleton", "stdlib": str(root), "fidelity": fid}
    result["syntax_error_recovery"] = recovery(parseable)
    result["throughput"] = throughput(args.rounds, parseable)
    with tempfile.TemporaryDirectory() as tmp:
        result["cache"] = cache_hits(root, parseable, Path(tmp))
        result["end_to_end"] = end_to_end(Path(tmp), args.e2e_repeat)
    try:
        AstSkeletonParser().parse("def broken(:\n", "x.py")
    except ParseFailed:
        result["syntax_error_fallback"] = (
            TreeSitterSkeletonParser().parse("def ok(): ...\ndef broken(:\n", "x.py").partial
        )
    emit(result)


if __name__ == "__main__":
    main()
