"""Definitions against an independent reference: Jedi's ``goto(follow_imports=True)``.

For each project (a git mirror, materialised with ``git archive`` into a temporary
directory; nothing of it is kept), positions are sampled with a fixed seed per kind and
per half (package files / test files):

    call         ``name(``           the called name
    method_call  ``obj.name(``       the called attribute
    attr         ``obj.attr``        an attribute that is not called
    name         a bare name that is read and not called

Jedi's answer is the reference: inside the segment (file, line), outside it (external), or
none (the position is not scored). Each resolver's answer is scored:

    agree_first      its first match is one of Jedi's locations (or both say external)
    agree_among      one of its matches is (for ambiguous answers)
    ambiguous        it answered with ``ambiguous: true``
    confident_wrong  it answered without ``ambiguous`` and its first match is wrong
                     (in-segment vs external counts as wrong both ways)
    no_answer        it answered nothing

Shares are over the positions Jedi answered (``scored``); ``inside``/``outside`` split them.
Two kinds of Jedi answers are no reference and are not scored, only counted: one that lands
on an import statement (``jedi_stopped_at_import``: it did not follow the import) and one
that lands on ``x["k"] = v`` for a use of ``x`` (``jedi_subscript_store``: Python binds
nothing there; the binding of ``x`` is elsewhere).
The fallback is asked in-process through the embedding API with the LSP off; ``--pyright``
also asks a warm in-process pyright through the same use case (the fallback policy
included), and pyright directly: ``pyright_pointed_outside`` counts positions where
pyright's own answer lies outside the segment, ``pyright_outside_replaced_by_namesake``
those of them whose final answer is not external (must be 0).

Prints JSON. Usage:
    python -m bench.definitions MIRROR [MIRROR ...] [--per-kind 40] [--seed 16] [--pyright]
        [--samples 15]
    python -m bench.definitions MIRROR --latency-against OTHER_CHECKOUT [--repeat 3]
        (end-to-end ``ast definition`` latency of this checkout vs another, same positions)
MIRROR is a bare git directory, e.g. /work/.mirror/pallets+click/repo. Jedi's answers are
cached per (project, commit, seed, per-kind) under --cache (default: the temp directory).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._common import emit

KINDS = ("call", "method_call", "attr", "name")
READY_WAIT_MS = 120_000


@dataclass(frozen=True)
class Site:
    kind: str
    path: str
    line: int
    column: int  # 1-based, in characters
    test: bool

    @property
    def query(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


def materialise(mirror: Path, dest: Path) -> str:
    """Extract the mirror's HEAD into ``dest``; return the commit."""

    commit = subprocess.run(
        ["git", "--git-dir", str(mirror), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "--git-dir", str(mirror), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit


def is_test(rel: str) -> bool:
    parts = rel.split("/")
    return any(p in ("tests", "test", "testing") for p in parts[:-1]) or parts[-1].startswith(
        "test_"
    )


def _column(line_text: str, byte_col: int) -> int:
    """ast's UTF-8 byte offset -> a 1-based character column."""

    return len(line_text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")) + 1


def sites(root: Path, per_kind: int, seed: int) -> list[Site]:
    """Every candidate position of every kind, then ``per_kind`` sampled per kind: half
    from package files and half from test files (fixed seed per kind and half)."""

    found: dict[tuple[str, bool], list[Site]] = {}
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root).as_posix()
        if rel.startswith(("docs/", "examples/", "_ctx/")):
            continue
        try:
            text = file.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        lines = text.splitlines()
        test = is_test(rel)
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}

        def add(
            kind: str,
            line: int,
            byte_col: int,
            rel: str = rel,
            test: bool = test,
            lines: list[str] = lines,
        ) -> None:
            column = _column(lines[line - 1], byte_col)
            found.setdefault((kind, test), []).append(Site(kind, rel, line, column, test))

        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                add("call" if id(node) in called else "name", node.lineno, node.col_offset)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Load)
                and node.end_lineno is not None
                and node.end_col_offset is not None
            ):
                start = node.end_col_offset - len(node.attr.encode("utf-8"))
                if (
                    lines[node.end_lineno - 1]
                    .encode("utf-8")[start:]
                    .startswith(node.attr.encode("utf-8"))
                ):
                    kind = "method_call" if id(node) in called else "attr"
                    add(kind, node.end_lineno, start)
    out: list[Site] = []
    for kind in KINDS:
        for test in (False, True):
            pool = found.get((kind, test), [])
            rng = random.Random(f"{seed}:{kind}:{test}")
            take = per_kind // 2 if test else per_kind - per_kind // 2
            out.extend(rng.sample(pool, min(take, len(pool))))
    return out


# ---- the reference -----------------------------------------------------------------------


def jedi_reference(root: Path, chosen: Sequence[Site]) -> list[dict[str, Any]]:
    """Jedi's answer per site: {"inside": [[path, line], ...]} or {"external": module} or
    {} (no answer)."""

    import jedi

    # the segment's own code first (an installed copy of the same project must not win),
    # then this interpreter's standard library and site-packages, nothing of this checkout
    here = Path(__file__).resolve().parent.parent
    own = [str(root / "src")] if (root / "src").is_dir() else []
    rest = [p for p in sys.path if p and not Path(p).resolve().is_relative_to(here)]
    project = jedi.Project(str(root), sys_path=[*own, str(root), *rest], smart_sys_path=False)
    real_root = root.resolve()
    out: list[dict[str, Any]] = []
    scripts: dict[str, Any] = {}
    for site in chosen:
        script = scripts.get(site.path)
        if script is None:
            code = (root / site.path).read_text(encoding="utf-8")
            script = jedi.Script(code, path=str(root / site.path), project=project)
            scripts = {site.path: script}  # one file at a time keeps memory flat
        try:
            names = script.goto(site.line, site.column - 1, follow_imports=True)
        except Exception as e:  # Jedi's own failures: no reference for this site
            out.append({"error": type(e).__name__})
            continue
        inside: list[list[Any]] = []
        external: str | None = None
        for name in names:
            module_path = name.module_path
            if module_path is not None and name.line is not None:
                resolved = Path(module_path).resolve()
                if resolved.is_relative_to(real_root):
                    inside.append([resolved.relative_to(real_root).as_posix(), name.line])
                    continue
            external = external or (name.module_name or "?")
        if inside:
            out.append({"inside": inside})
        elif external is not None:
            out.append({"external": external})
        else:
            out.append({})
    return out


# ---- scoring -----------------------------------------------------------------------------

_IMPORT_LINES: dict[Path, set[int]] = {}


def import_lines(file: Path) -> set[int]:
    """The lines of a file's import statements (all lines of a parenthesised one)."""

    if file not in _IMPORT_LINES:
        found: set[int] = set()
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        _IMPORT_LINES[file] = found
    return _IMPORT_LINES[file]


def unfollowed(root: Path, reference: dict[str, Any]) -> dict[str, Any]:
    """A Jedi answer that stops on an import statement (it did not follow the import to the
    definition, e.g. a re-export it could not resolve) is no reference: not scored."""

    inside = reference.get("inside")
    if inside and all(line in import_lines(root / path) for path, line in inside):
        return {"stopped_at_import": inside}
    if inside and all(subscript_store(root / path, line) for path, line in inside):
        return {"subscript_store": inside}
    return reference


def subscript_store(file: Path, line: int) -> bool:
    """Jedi names ``x["k"] = v`` as where ``x`` is defined; Python binds nothing there."""

    try:
        text = file.read_text(encoding="utf-8").splitlines()[line - 1]
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    return re.match(r"\s*[A-Za-z_]\w*\s*\[[^=]*\]\s*=(?!=)", text) is not None


def score(reference: dict[str, Any], answer: Any) -> str:
    """One of agree_first, agree_among, ambiguous (wrong or unknown, but said so),
    confident_wrong, no_answer; "" when Jedi gave no reference."""

    if "inside" not in reference and "external" not in reference:
        return ""
    matches = answer.matches
    if not matches:
        return "no_answer"
    want = {(p, line) for p, line in reference.get("inside", [])}

    def right(m: Any) -> bool:
        if "external" in reference:
            return bool(getattr(m, "external", False))
        if getattr(m, "external", False):
            return False
        # the same symbol: one of its overloads or a property's setter/deleter
        lines = {m.line, *getattr(m, "related_lines", ())}
        return any((m.path, line) in want for line in lines)

    if right(matches[0]):
        return "agree_first"
    if any(right(m) for m in matches):
        return "agree_among"
    return "ambiguous" if answer.ambiguous else "confident_wrong"


OUTCOMES = ("agree_first", "agree_among", "ambiguous", "confident_wrong", "no_answer")


def tally(rows: Sequence[tuple[Site, dict[str, Any], str]]) -> dict[str, Any]:
    def block(chosen: Sequence[tuple[Site, dict[str, Any], str]]) -> dict[str, Any]:
        scored = [r for r in chosen if r[2]]
        counts = {o: sum(1 for r in scored if r[2] == o) for o in OUTCOMES}
        total = max(len(scored), 1)
        result: dict[str, Any] = {"scored": len(scored), **counts}
        result.update({f"{o}_share": round(counts[o] / total, 4) for o in OUTCOMES})
        for where in ("inside", "external"):
            part = [r for r in scored if where in r[1]]
            result[where] = {o: sum(1 for r in part if r[2] == o) for o in OUTCOMES}
            result[where]["scored"] = len(part)
        return result

    out = {"all": block(rows)}
    for kind in KINDS:
        out[kind] = block([r for r in rows if r[0].kind == kind])
    return out


def describe(answer: Any) -> list[Any]:
    return [
        (
            f"external:{m.module}:{m.qualname}"
            if getattr(m, "external", False)
            else f"{m.path}:{m.line}"
        )
        for m in answer.matches[:3]
    ]


# ---- resolvers ---------------------------------------------------------------------------


def run_fallback(root: Path, chosen: Sequence[Site]) -> tuple[list[Any], list[int]]:
    from trifecta.api import Segment

    seg = Segment(root, {"telemetry": {"level": "off"}})
    answers, times = [], []
    try:
        for site in chosen:  # a first pass fills the skeleton cache and the name table
            seg.definition(site.query, no_lsp=True)
        for site in chosen:
            start = time.perf_counter_ns()
            answers.append(seg.definition(site.query, no_lsp=True))
            times.append(time.perf_counter_ns() - start)
    finally:
        seg.close()
    return answers, times


def run_pyright(root: Path, chosen: Sequence[Site]) -> tuple[list[Any], int, int]:
    """The use case's answers with a warm in-process pyright, how many times pyright itself
    pointed outside the segment, and how many of those answers were not external."""

    from bench.symbols import Rig, request

    rig = Rig(root)
    outside = replaced = 0
    answers = []
    try:
        server = rig.server
        assert server is not None
        server.start()
        server.wait_ready(READY_WAIT_MS)
        for site in chosen:
            answer = rig.position.execute(request(site.query, timeout_ms=30_000))
            answers.append(answer)
            raw = server.definition(site.path, site.line, site.column, 30_000)
            if any(m.external for m in raw):
                outside += 1
                replaced += not any(m.external for m in answer.matches)
        return answers, outside, replaced
    finally:
        rig.close()


def evaluate(
    mirror: Path, work: Path, per_kind: int, seed: int, pyright: bool, samples: int, cache: Path
) -> dict[str, Any]:
    name = mirror.parent.name
    root = work / name
    commit = materialise(mirror, root)
    chosen = sites(root, per_kind, seed)
    key = cache / f"definitions-{name}-{commit[:12]}-{seed}-{per_kind}.json"
    if key.exists():
        reference = json.loads(key.read_text())
    else:
        reference = jedi_reference(root, chosen)
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text(json.dumps(reference))
    reference = [unfollowed(root, r) for r in reference]
    result: dict[str, Any] = {
        "project": name,
        "commit": commit[:12],
        "positions": len(chosen),
        "jedi_inside": sum(1 for r in reference if "inside" in r),
        "jedi_external": sum(1 for r in reference if "external" in r),
        "jedi_stopped_at_import": sum(1 for r in reference if "stopped_at_import" in r),
        "jedi_subscript_store": sum(1 for r in reference if "subscript_store" in r),
    }
    answers, times = run_fallback(root, chosen)
    rows = [(s, r, score(r, a)) for s, r, a in zip(chosen, reference, answers, strict=True)]
    result["fallback"] = tally(rows)
    result["fallback_median_ms"] = round(statistics.median(times) / 1e6, 3)
    result["fallback_evidence"] = {
        e: sum(1 for a in answers if str(getattr(a, "evidence", None)) == e)
        for e in sorted({str(getattr(a, "evidence", None)) for a in answers})
    }
    wrong = [
        {**asdict(s), "jedi": r, "got": describe(a), "evidence": getattr(a, "evidence", None)}
        for (s, r, o), a in zip(rows, answers, strict=True)
        if o == "confident_wrong"
    ]
    missed = [
        {**asdict(s), "jedi": r, "got": describe(a), "evidence": getattr(a, "evidence", None)}
        for (s, r, o), a in zip(rows, answers, strict=True)
        if o in ("no_answer", "ambiguous", "agree_among")
    ]
    result["fallback_confident_wrong_sample"] = wrong[:samples]
    result["fallback_missed_sample"] = random.Random(seed).sample(missed, min(samples, len(missed)))
    if pyright:
        lsp_answers, outside, replaced = run_pyright(root, chosen)
        result["pyright_pointed_outside"] = outside
        result["pyright_outside_replaced_by_namesake"] = replaced
        lsp_rows = [
            (s, r, score(r, a)) for s, r, a in zip(chosen, reference, lsp_answers, strict=True)
        ]
        result["pyright"] = tally(lsp_rows)
        result["pyright_resolved_by"] = {
            b: sum(1 for a in lsp_answers if a.resolved_by == b)
            for b in ("lsp", "ast", "tree_sitter")
        }
        reasons = [str(a.fallback_reason) for a in lsp_answers if a.fallback_reason]
        result["pyright_fallback_reasons"] = {r: reasons.count(r) for r in sorted(set(reasons))}
        result["pyright_confident_wrong_sample"] = [
            {**asdict(s), "jedi": r, "got": describe(a)}
            for (s, r, o), a in zip(lsp_rows, lsp_answers, strict=True)
            if o == "confident_wrong"
        ][:samples]
    return result


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> int:
    start = time.perf_counter_ns()
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter_ns() - start


def latency(mirror: Path, work: Path, baseline: Path, sites_count: int, repeat: int) -> Any:
    """End-to-end ``ast definition`` of the same positions by this checkout and by the
    ``baseline`` tree (another checkout of trifecta, run with the same interpreter), each
    on its own copy of the project: ``--no-lsp``, then through each one's warm server;
    rounds interleaved so machine noise hits both alike."""

    here = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    trees = {"baseline": baseline.resolve(), "current": here}
    roots = {}
    for label in trees:
        roots[label] = work / f"{mirror.parent.name}-{label}"
        materialise(mirror, roots[label])
    chosen = sites(roots["current"], max(sites_count // len(KINDS), 1), 99)[:sites_count]

    def argv(label: str, site: Site, *extra: str) -> list[str]:
        cli = [sys.executable, "-m", "trifecta", "--segment", str(roots[label])]
        return [*cli, "--telemetry", "off", "ast", "definition", site.query, *extra]

    def envs(label: str) -> dict[str, str]:
        return {**env, "PYTHONPATH": str(trees[label]), "TRIFECTA_LSP_READY_TIMEOUT_MS": "60000"}

    samples: dict[str, list[int]] = {}
    for label in trees:  # fill the skeleton caches and name tables
        for site in chosen:
            subprocess.run(
                argv(label, site, "--no-lsp"),
                cwd=trees[label],
                env=envs(label),
                capture_output=True,
                check=False,
            )
    for _ in range(repeat):
        for site in chosen:
            samples.setdefault("python_pass", []).append(
                timed([sys.executable, "-c", "pass"], here, env)
            )
            for label in trees:
                samples.setdefault(f"{label}_no_lsp", []).append(
                    timed(argv(label, site, "--no-lsp"), trees[label], envs(label))
                )
    for label in trees:
        start = [sys.executable, "-m", "trifecta", "--segment", str(roots[label]), "lsp", "start"]
        subprocess.run(start, cwd=trees[label], env=envs(label), capture_output=True, timeout=300)
        for site in chosen:  # pyright binds the files lazily: one pass before timing
            subprocess.run(
                argv(label, site, "--timeout-ms", "30000"),
                cwd=trees[label],
                env=envs(label),
                capture_output=True,
                check=False,
            )
    try:
        for _ in range(repeat):
            for site in chosen:
                for label in trees:
                    samples.setdefault(f"{label}_warm", []).append(
                        timed(argv(label, site), trees[label], envs(label))
                    )
    finally:
        for label in trees:
            stop = [sys.executable, "-m", "trifecta", "--segment", str(roots[label]), "lsp", "stop"]
            subprocess.run(stop, cwd=trees[label], env=envs(label), capture_output=True, timeout=60)
    medians = {k: round(statistics.median(v) / 1e6, 1) for k, v in samples.items()}
    return {
        "project": mirror.parent.name,
        "positions": len(chosen),
        "repeat": repeat,
        "median_ms": medians,
        "no_lsp_ratio": round(medians["current_no_lsp"] / medians["baseline_no_lsp"], 3),
        "warm_ratio": round(medians["current_warm"] / medians["baseline_warm"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mirrors", nargs="+", type=Path)
    parser.add_argument(
        "--latency-against",
        type=Path,
        help="another trifecta checkout: compare end-to-end latency instead of answers",
    )
    parser.add_argument("--latency-sites", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--pyright", action="store_true")
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "definitions",
        "per_kind": args.per_kind,
        "seed": args.seed,
        "projects": [],
    }
    with tempfile.TemporaryDirectory(prefix="trifecta-defs-") as tmp:
        if args.latency_against is not None:
            result["latency"] = [
                latency(m, Path(tmp), args.latency_against, args.latency_sites, args.repeat)
                for m in args.mirrors
            ]
            emit(result)
            return
        for mirror in args.mirrors:
            result["projects"].append(
                evaluate(
                    mirror,
                    Path(tmp),
                    args.per_kind,
                    args.seed,
                    args.pyright,
                    args.samples,
                    args.cache,
                )
            )
    emit(result)


if __name__ == "__main__":
    main()
