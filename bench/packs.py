"""Context packs on a real corpus: build, sync, search (in-process and end to end), get,
sizes, and search quality (recall@5, MRR) on a fixed query set.

Corpus: >= 1,000 standard-library ``.py`` files copied to a temporary directory (library
modules first, then ``test/test_*.py`` to reach ``--files``) plus this repository's docs.
Prints JSON. Usage: python -m bench.packs [--files 1000] [--repeat 21]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import emit, median_ms, percentile_ms, time_process
from trifecta.api import Segment
from trifecta.application.packs.get import GetRequest
from trifecta.application.packs.search import SearchRequest
from trifecta.domain.model import ReadMode

ROOT = Path(__file__).resolve().parent.parent

# query -> the file a developer looking for it wants (segment-relative).
QUALITY: list[tuple[str, str]] = [
    ("HTTPServer", "stdlib/http/server.py"),
    ("json decoder", "stdlib/json/decoder.py"),
    ("ThreadPoolExecutor", "stdlib/concurrent/futures/thread.py"),
    ("ArgumentParser add_argument", "stdlib/argparse.py"),
    ("OrderedDict move_to_end", "stdlib/collections/__init__.py"),
    ("namedtuple", "stdlib/collections/__init__.py"),
    ("urlparse", "stdlib/urllib/parse.py"),
    ("dataclass field default_factory", "stdlib/dataclasses.py"),
    ("TemporaryDirectory", "stdlib/tempfile.py"),
    ("copytree", "stdlib/shutil.py"),
    ("SequenceMatcher", "stdlib/difflib.py"),
    ("heappush", "stdlib/heapq.py"),
    ("bisect_left", "stdlib/bisect.py"),
    ("TextWrapper", "stdlib/textwrap.py"),
    ("ZipFile", "stdlib/zipfile.py"),
    ("tarfile extractall", "stdlib/tarfile.py"),
    ("ConfigParser", "stdlib/configparser.py"),
    ("getLogger", "stdlib/logging/__init__.py"),
    ("RotatingFileHandler", "stdlib/logging/handlers.py"),
    ("SMTP sendmail", "stdlib/smtplib.py"),
    ("b64encode", "stdlib/base64.py"),
    ("PrettyPrinter", "stdlib/pprint.py"),
    ("fnmatch translate", "stdlib/fnmatch.py"),
    ("Fraction limit_denominator", "stdlib/fractions.py"),
    ("NodeVisitor", "stdlib/ast.py"),
    ("inspect signature Parameter", "stdlib/inspect.py"),
    ("Popen communicate", "stdlib/subprocess.py"),
    ("run_until_complete", "stdlib/asyncio/base_events.py"),
    ("PurePath", "stdlib/pathlib.py"),
    ("uuid4", "stdlib/uuid.py"),
    ("DictReader", "stdlib/csv.py"),
    ("format_exception", "stdlib/traceback.py"),
    ("IPv4Network", "stdlib/ipaddress.py"),
    ("deepcopy", "stdlib/copy.py"),
    ("lru_cache", "stdlib/functools.py"),
    ("contextmanager", "stdlib/contextlib.py"),
    ("Protocol ports adapters", "docs/adr/0001-protocol-ports.md"),
    ("dependency rule import-linter", "docs/adr/0002-dependency-rule-enforced.md"),
    ("selector grammar", "docs/cli.md"),
    ("startup version help ratio", "docs/performance.md"),
]


def make_corpus(target: Path, files: int) -> int:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    library = sorted(
        p
        for p in stdlib.rglob("*.py")
        if not {"site-packages", "test", "tests"} & set(p.relative_to(stdlib).parts[:-1])
        and "idle_test" not in p.parts
    )
    tests = sorted((stdlib / "test").glob("test_*.py"))
    chosen = (library + tests)[: max(files, len(library))]
    for path in chosen:
        dest = target / "stdlib" / path.relative_to(stdlib)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    shutil.copytree(ROOT / "docs", target / "docs")
    return len(chosen)


def quality(seg: Segment) -> dict[str, Any]:
    ranks: list[int | None] = []
    misses = []
    for query, expected in QUALITY:
        hits = seg.ctx_search(SearchRequest(query, 10)).hits
        paths = [h.chunk.path for h in hits]
        rank = paths.index(expected) + 1 if expected in paths else None
        ranks.append(rank)
        if rank is None or rank > 5:
            misses.append({"query": query, "expected": expected, "rank": rank, "got": paths[:3]})
    found5 = sum(1 for r in ranks if r is not None and r <= 5)
    return {
        "queries": len(QUALITY),
        "recall_at_5": round(found5 / len(QUALITY), 3),
        "mrr": round(sum(1 / r for r in ranks if r) / len(QUALITY), 3),
        "rank_1": sum(1 for r in ranks if r == 1),
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--builds", type=int, default=3)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "trifecta")
    with tempfile.TemporaryDirectory(prefix="trifecta-bench-") as tmp:
        corpus = Path(tmp) / "corpus"
        n_files = make_corpus(corpus, args.files)
        flags = {"telemetry": {"level": "lite"}}

        builds = []
        for _ in range(args.builds):
            with Segment(corpus, flags) as seg:
                start = time.perf_counter_ns()
                report = seg.ctx_build()
                builds.append(time.perf_counter_ns() - start)
        syncs = []
        touched = sorted((corpus / "stdlib").glob("*.py"))
        for i in range(args.builds):
            target = touched[i * 7 % len(touched)]
            with target.open("a") as handle:
                handle.write("\n# touched by bench\n")
            with Segment(corpus, flags) as seg:
                start = time.perf_counter_ns()
                sync = seg.ctx_build(incremental=True)
                syncs.append(time.perf_counter_ns() - start)
            assert sync.read == (target.relative_to(corpus).as_posix(),), sync.read
        noop = []
        for _ in range(args.builds):
            with Segment(corpus, flags) as seg:
                start = time.perf_counter_ns()
                seg.ctx_build(incremental=True)
                noop.append(time.perf_counter_ns() - start)

        queries = [q for q, _ in QUALITY]
        with Segment(corpus, flags) as seg:
            quality_figures = quality(seg)
            search_ns = []
            hit_ids: list[str] = []
            for i in range(args.repeat * 2):
                query = queries[i % len(queries)]
                start = time.perf_counter_ns()
                result = seg.ctx_search(SearchRequest(query, 5))
                search_ns.append(time.perf_counter_ns() - start)
                if result.hits and len(hit_ids) < len(queries):
                    hit_ids.append(result.hits[0].chunk.id)
        with Segment(corpus, flags) as seg:
            get_ns = []
            for i in range(args.repeat * 2):
                chunk_id = hit_ids[i % len(hit_ids)]
                start = time.perf_counter_ns()
                seg.ctx_get(GetRequest((chunk_id,), ReadMode.EXCERPT))
                get_ns.append(time.perf_counter_ns() - start)

        baseline = time_process([sys.executable, "-c", "pass"], args.repeat)
        version = time_process([exe, "--version"], args.repeat)
        e2e: list[int] = []
        for i in range(args.repeat):
            argv = [exe, "--segment", str(corpus), "ctx", "search", "-q", queries[i % len(queries)]]
            e2e.extend(time_process(argv, 1))
        e2e_get: list[int] = []
        for i in range(args.repeat):
            argv = [exe, "--segment", str(corpus), "ctx", "get", "-i", hit_ids[i % len(hit_ids)]]
            e2e_get.extend(time_process(argv, 1))

        pack_bytes = (corpus / "_ctx" / "context_pack.json").stat().st_size
        index_bytes = (corpus / "_ctx" / "context_index.sqlite").stat().st_size
        corpus_bytes = sum(
            p.stat().st_size for p in corpus.rglob("*") if p.is_file() and "_ctx" not in p.parts
        )
        check = subprocess.run(
            [exe, "--segment", str(corpus), "ctx", "validate"], capture_output=True, check=False
        )
        build_ms = median_ms(builds)
        sync_ms = median_ms(syncs)
        base_ms = median_ms(baseline)
        emit(
            {
                "benchmark": "packs",
                "corpus_py_files": n_files,
                "corpus_files_in_pack": report.files,
                "corpus_bytes": corpus_bytes,
                "chunks": report.chunks,
                "cpu_count": os.cpu_count(),
                "full_build_median_ms": build_ms,
                "sync_one_file_median_ms": sync_ms,
                "sync_to_build_ratio": round(sync_ms / build_ms, 4),
                "sync_nothing_changed_median_ms": median_ms(noop),
                "search_in_process_p50_ms": median_ms(search_ns),
                "search_in_process_p95_ms": percentile_ms(search_ns, 0.95),
                "search_cli_median_ms": median_ms(e2e),
                "search_cli_p95_ms": percentile_ms(e2e, 0.95),
                "search_cli_budget_ms": 150,
                "get_in_process_p50_ms": median_ms(get_ns),
                "get_cli_median_ms": median_ms(e2e_get),
                "python_pass_median_ms": base_ms,
                "version_median_ms": median_ms(version),
                "search_cli_ratio_to_python_pass": round(median_ms(e2e) / base_ms, 2),
                "pack_bytes": pack_bytes,
                "index_bytes": index_bytes,
                "index_to_corpus_ratio": round(index_bytes / corpus_bytes, 3),
                "validate_exit": check.returncode,
                "quality": quality_figures,
                "repeat": args.repeat,
                "spread_search_cli_stdev_ms": round(statistics.pstdev(e2e) / 1e6, 3),
            }
        )


if __name__ == "__main__":
    main()
