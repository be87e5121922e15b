"""Search quality on real tasks (issue 10): trifecta against plain BM25 over whole files.

Reads the task set made by ``bench.search_dataset`` (``<data>/tasks.jsonl``). For each
corpus (a project's tree at a commit's parent, or the standard-library copy) it builds a
trifecta pack through the embedding API, searches each query at ``--limit`` (default 10),
collapses the hits to distinct files in rank order (or uses the API's files mode when it
has one, ``--limit`` files; ``--mode chunks`` forces the collapse), and scores the files
against the gold:

- ``recall@1`` / ``recall@5``: mean over tasks of |gold ∩ top k files| / |gold|;
- ``recall_any@5``: share of tasks with any gold file in the top 5;
- ``mrr``: mean reciprocal rank of the first gold file (0 when none is in the list);
- ``top1_test``: share of tasks whose first file is a test file (diagnostic);
- ``files``: mean number of distinct files in the list (diagnostic: ``--limit`` chunk hits
  often name fewer than 5 files).

The baseline, in the same run on the same files trifecta indexed: BM25 (``rank_bm25``'s
Okapi, default parameters) with one document per file, no fields, no chunks; tokens are
the lowercase alphanumeric words of the text, each identifier also split into its
snake_case and camelCase parts. Rankings are cut at the same ``--limit`` for both.

Project trees are materialised once per parent commit under ``<data>/trees`` and reused
across runs; the pack (``_ctx/``) is rebuilt on every run, so the figures are today's code
(``--reuse-packs`` skips the builds when only the search side changed).

Prints one JSON object. Usage:
    python -m bench.search_quality [--data DIR] [--split dev|holdout|all]
        [--projects a,b] [--styles subject,identifiers,stdlib] [--max-tasks N]
        [--limit 10] [--details FILE] [--jobs N] [--reuse-packs]
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trifecta

DEFAULT_DATA = Path("/work/evaldata")
STYLES = ("subject", "identifiers", "stdlib")
TOKENIZER_VERSION = 1
# What the file walk falls back to when a build report does not list the files it read.
FALLBACK_SUFFIXES = (".py", ".md")
SKIPPED_DIRS = frozenset({".git", "_ctx", ".venv", "venv", "node_modules", "__pycache__"})
TEST_DIRS = frozenset({"test", "tests", "testing", "testsuite", "idle_test"})


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return any(p in TEST_DIRS for p in parts[:-1])


# ---- tokens (the baseline's) ----------------------------------------------------------------

WORD = re.compile(r"[A-Za-z0-9]+")
CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")


def bm25_tokens(text: str) -> list[str]:
    """Lowercase words; an identifier yields itself and its snake/camel parts."""

    out: list[str] = []
    for ident in IDENT.findall(text):
        parts = [p.lower() for w in WORD.findall(ident) for p in CAMEL.findall(w)]
        out.extend(parts)
        if len(parts) > 1:
            out.append(ident.strip("_").lower())
    return out


# ---- corpora -------------------------------------------------------------------------------


@dataclass
class Corpus:
    key: str
    root: Path
    tasks: list[dict[str, Any]] = field(default_factory=list)


def materialise(target: Path, project: str, mirror: str, parent: str, git: bool) -> Path:
    """The parent commit's whole tree, extracted once (atomically) into ``target`` and
    reused; with ``git``, also a repository whose HEAD is the parent (its objects read from
    the mirror through ``alternates``, no index), so the history up to the parent is there
    as in a checkout."""

    if target.is_dir():
        return target
    partial = target.with_name(f"{parent}.partial-{os.getpid()}")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "--git-dir", mirror, "archive", parent], stdout=subprocess.PIPE
    )
    untar = subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout, check=False)
    if archive.stdout is not None:
        archive.stdout.close()
    if archive.wait() != 0 or untar.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise RuntimeError(f"{project}@{parent[:10]}: git archive failed")
    if git:
        subprocess.run(["git", "init", "-q", str(partial)], check=True)
        objects = (Path(mirror) / "objects").resolve()
        (partial / ".git" / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        (partial / ".git" / "HEAD").write_text(f"{parent}\n")  # detached at the parent
    partial.rename(target)
    return target


def walk_files(root: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in filenames:
            if name.endswith(FALLBACK_SUFFIXES):
                found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(found)


def build_pack(root: Path, reuse: bool) -> tuple[list[str], float]:
    """A fresh trifecta pack for ``root`` (or, with ``reuse``, the pack a previous run left
    there); returns the files it indexed and the build time. The list of indexed files is
    kept beside the pack, in ``_ctx/``, which trifecta never indexes."""

    listing = root / "_ctx" / "eval-indexed-files.json"
    if reuse and listing.is_file():
        return list(json.loads(listing.read_text(encoding="utf-8"))), 0.0
    shutil.rmtree(root / "_ctx", ignore_errors=True)
    start = time.perf_counter()
    with trifecta.open_segment(root) as seg:
        report = seg.build()
    elapsed = time.perf_counter() - start
    read = sorted(str(p) for p in getattr(report, "read", ()))
    if not read or len(read) != getattr(report, "files", len(read)):
        read = walk_files(root)  # a report that does not list its files
    listing.write_text(json.dumps(read), encoding="utf-8")
    return read, elapsed


class Bm25:
    """Whole-file BM25 over ``files`` of ``root``; tokenised docs cached on disk."""

    def __init__(self, root: Path, files: Sequence[str], cache: Path) -> None:
        from rank_bm25 import BM25Okapi

        self.files = list(files)
        digest = hashlib.sha256(
            "\n".join([str(TOKENIZER_VERSION), str(root), *self.files]).encode()
        ).hexdigest()[:20]
        cached = cache / f"{digest}.pickle"
        docs: list[list[str]]
        if cached.exists():
            with cached.open("rb") as f:
                docs = pickle.load(f)
        else:
            docs = [
                bm25_tokens((root / rel).read_text(encoding="utf-8", errors="replace"))
                for rel in self.files
            ]
            cache.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".tmp{os.getpid()}")
            with tmp.open("wb") as f:
                pickle.dump(docs, f)
            tmp.replace(cached)
        self.model = BM25Okapi(docs)

    def search(self, query: str, limit: int) -> list[str]:
        terms = bm25_tokens(query)
        if not terms:
            return []
        scores = self.model.get_scores(terms)
        order = sorted(range(len(self.files)), key=lambda i: (-float(scores[i]), self.files[i]))
        return [self.files[i] for i in order[:limit] if float(scores[i]) > 0]


# ---- trifecta -----------------------------------------------------------------------------


def files_mode(search: Callable[..., Any]) -> bool:
    try:
        return "files" in inspect.signature(search).parameters
    except (TypeError, ValueError):
        return False


def _path_of(item: Any) -> str | None:
    if isinstance(item, dict):
        value = item.get("path")
        return str(value) if value is not None else None
    chunk = getattr(item, "chunk", None)
    path = getattr(item, "path", None) or getattr(chunk, "path", None)
    return str(path) if path is not None else None


def trifecta_files(
    seg: Any, query: str, limit: int, use_files: bool
) -> tuple[list[str], list[str]]:
    """The distinct files in rank order, and the hits as ``id [kind, ~tokens, score]`` (for
    error analysis)."""

    kwargs: dict[str, Any] = {"files": True} if use_files else {}
    result = seg.search(query, limit=limit, **kwargs)
    hits: list[str] = []
    for hit in getattr(result, "hits", None) or ():
        chunk = getattr(hit, "chunk", None)
        if chunk is not None:
            hits.append(
                f"{chunk.id} [{chunk.kind}, ~{chunk.token_est} tok, {float(hit.score):.2f}]"
            )
    items: Iterable[Any] = getattr(result, "files", None) or getattr(result, "hits", None) or ()
    ranked: list[str] = []
    for item in items:
        path = _path_of(item)
        if path is not None and path not in ranked:
            ranked.append(path)
    return ranked, hits


# ---- metrics ------------------------------------------------------------------------------

METRICS = ("recall@1", "recall@5", "recall_any@5", "mrr", "top1_test", "files")


def score(ranked: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    wanted = set(gold)
    first = next((i for i, p in enumerate(ranked) if p in wanted), None)
    return {
        "recall@1": len(wanted & set(ranked[:1])) / len(wanted),
        "recall@5": len(wanted & set(ranked[:5])) / len(wanted),
        "recall_any@5": 1.0 if wanted & set(ranked[:5]) else 0.0,
        "mrr": 0.0 if first is None else 1.0 / (first + 1),
        "top1_test": 1.0 if ranked and is_test_path(ranked[0]) else 0.0,
        "files": float(len(ranked)),
    }


def mean_scores(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {m: round(math.fsum(r[m] for r in rows) / len(rows), 3) for m in METRICS}


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "n": len(rows),
        "trifecta": mean_scores([r["trifecta_scores"] for r in rows]),
        "bm25": mean_scores([r["bm25_scores"] for r in rows]),
    }


# ---- run ----------------------------------------------------------------------------------


def load_tasks(path: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    projects = set(args.projects.split(",")) if args.projects else None
    styles = set(args.styles.split(",")) if args.styles else None
    tasks: list[dict[str, Any]] = []
    taken: dict[tuple[str, str], int] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            task = json.loads(line)
            if args.split != "all" and task["split"] != args.split:
                continue
            if projects is not None and task["project"] not in projects:
                continue
            if styles is not None and task["style"] not in styles:
                continue
            key = (task["project"], task["style"])
            if args.max_tasks is not None and taken.get(key, 0) >= args.max_tasks:
                continue
            taken[key] = taken.get(key, 0) + 1
            tasks.append(task)
    return tasks


def trees_dir(data: Path, git: bool) -> Path:
    return data / ("trees-git" if git else "trees")


def corpora(tasks: Sequence[dict[str, Any]], data: Path, git: bool = False) -> list[Corpus]:
    grouped: dict[str, Corpus] = {}
    for task in tasks:
        if task.get("corpus"):
            key = f"{task['project']}:corpus"
            root = Path(task["corpus"])
        else:
            key = f"{task['project']}:{task['parent']}"
            root = trees_dir(data, git) / task["project"] / task["parent"]
        grouped.setdefault(key, Corpus(key, root)).tasks.append(task)
    return list(grouped.values())


@dataclass(frozen=True)
class Evaluated:
    key: str
    rows: list[dict[str, Any]]
    files: int
    mode: str
    timing: dict[str, float]


def evaluate_corpus(
    corpus: Corpus, data: Path, limit: int, reuse: bool, mode: str, git: bool = False
) -> Evaluated:
    """Materialise, build, and run every task of one corpus (a pool worker's unit)."""

    first = corpus.tasks[0]
    t0 = time.perf_counter()
    if not first.get("corpus"):
        materialise(corpus.root, first["project"], first["mirror"], first["parent"], git)
    t1 = time.perf_counter()
    files, build_s = build_pack(corpus.root, reuse)
    t2 = time.perf_counter()
    bm25 = Bm25(corpus.root, files, data / "bm25-cache")
    t3 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with trifecta.open_segment(corpus.root) as seg:
        use_files = mode != "chunks" and files_mode(seg.search)
        if mode == "files" and not use_files:
            raise RuntimeError("this trifecta has no files mode (search(..., files=True))")
        for task in corpus.tasks:
            ranked, hits = trifecta_files(seg, task["query"], limit, use_files)
            baseline = bm25.search(task["query"], limit)
            rows.append(
                {
                    "id": task["id"],
                    "project": task["project"],
                    "style": task["style"],
                    "query": task["query"],
                    "gold": task["gold"],
                    "parent": task.get("parent"),
                    "trifecta_top5": ranked[:5],
                    "trifecta_files": ranked[:limit],
                    "trifecta_hits": hits,
                    "bm25_top5": baseline[:5],
                    "bm25_files": baseline,
                    "trifecta_scores": score(ranked[:limit], task["gold"]),
                    "bm25_scores": score(baseline, task["gold"]),
                }
            )
    t4 = time.perf_counter()
    timing = {"materialise_s": t1 - t0, "build_s": build_s, "bm25_s": t3 - t2, "search_s": t4 - t3}
    mode = "files" if use_files else "chunks collapsed to files"
    return Evaluated(corpus.key, rows, len(files), mode, timing)


def run(args: argparse.Namespace) -> dict[str, Any]:
    data: Path = args.data
    tasks = load_tasks(data / "tasks.jsonl", args)
    if not tasks:
        raise ValueError("no task matches the filters")
    groups = corpora(tasks, data, args.git_history)
    # The biggest corpora first, so a pool does not end on one long build.
    groups.sort(key=lambda c: (not c.tasks[0].get("corpus"), c.key))
    rows: list[dict[str, Any]] = []
    timing = {"materialise_s": 0.0, "build_s": 0.0, "bm25_s": 0.0, "search_s": 0.0}
    modes: set[str] = set()
    started = time.perf_counter()

    def done(n: int, result: Evaluated) -> None:
        rows.extend(result.rows)
        modes.add(result.mode)
        for k, v in result.timing.items():
            timing[k] += v
        log(
            f"[{n}/{len(groups)}] {result.key[:24]} files={result.files}"
            f" tasks={len(result.rows)} build={result.timing['build_s']:.1f}s"
            f" elapsed={time.perf_counter() - started:.0f}s"
        )

    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [
                pool.submit(
                    evaluate_corpus,
                    c,
                    data,
                    args.limit,
                    args.reuse_packs,
                    args.mode,
                    args.git_history,
                )
                for c in groups
            ]
            for n, future in enumerate(as_completed(futures), 1):
                done(n, future.result())
    else:
        for n, corpus in enumerate(groups, 1):
            result = evaluate_corpus(
                corpus, data, args.limit, args.reuse_packs, args.mode, args.git_history
            )
            done(n, result)
    rows.sort(key=lambda r: int(r["id"]))
    mode = ", ".join(sorted(modes))
    by_project: dict[str, dict[str, Any]] = {}
    for project in sorted({r["project"] for r in rows}):
        for style in STYLES:
            chosen = [r for r in rows if r["project"] == project and r["style"] == style]
            if chosen:
                by_project.setdefault(project, {})[style] = summarise(chosen)
    totals = {
        style: summarise([r for r in rows if r["style"] == style])
        for style in STYLES
        if any(r["style"] == style for r in rows)
    }
    if args.details is not None:
        with args.details.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, sort_keys=True) + "\n")
    return {
        "benchmark": "search_quality",
        "data": str(data / "tasks.jsonl"),
        "split": args.split,
        "limit": args.limit,
        "trifecta_mode": mode,
        "packs": "reused" if args.reuse_packs else "rebuilt",
        "git_history": args.git_history,
        "baseline": "rank_bm25 BM25Okapi, one document per file, identifier-split tokens",
        "tasks": len(rows),
        "corpora": len(groups),
        "results": by_project,
        "totals": totals,
        "timing_s": {k: round(v, 1) for k, v in timing.items()}
        | {"total": round(time.perf_counter() - started, 1)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.search_quality", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("dev", "holdout", "all"), default="dev")
    parser.add_argument("--projects", help="comma-separated project names (default: all)")
    parser.add_argument("--styles", help="comma-separated: subject,identifiers,stdlib")
    parser.add_argument("--max-tasks", type=int, help="at most N tasks per project and style")
    parser.add_argument("--limit", type=int, default=10, help="hits asked of trifecta (10)")
    parser.add_argument("--details", type=Path, help="write one JSON row per task here")
    parser.add_argument(
        "--mode",
        choices=("auto", "files", "chunks"),
        default="auto",
        help="files: search(..., files=True), --limit files; chunks: --limit chunk hits "
        "collapsed to files; auto (default): files when the API has it",
    )
    parser.add_argument(
        "--reuse-packs",
        action="store_true",
        help="search the packs a previous run built instead of rebuilding them (only valid "
        "when chunking and the index format did not change since)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="corpora evaluated in parallel processes (1)"
    )
    parser.add_argument(
        "--git-history",
        action="store_true",
        help="trees (under trees-git/) are repositories at the parent commit, so the "
        "history up to it is there as in a checkout (search.history's prior); without it "
        "they are plain trees (git archive)",
    )
    args = parser.parse_args(argv)
    if not (args.data / "tasks.jsonl").is_file():
        print(
            f"trifecta: error: {args.data / 'tasks.jsonl'}: no task set "
            "(make it with python -m bench.search_dataset)",
            file=sys.stderr,
        )
        return 2
    try:
        result = run(args)
    except (ValueError, RuntimeError) as e:
        print(f"trifecta: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
