"""Make the search-quality task set (issue 10) reproducibly from public git history.

Three query styles:

- ``subject``: a real commit's subject line as its author wrote it (trailing ``(#123)``
  removed); gold = the package ``.py`` files the commit modified (non-test, 1..5 of them);
  the corpus is the whole tree of the commit's parent.
- ``identifiers``: the same commits, queried by the names (at most 4) of the functions and
  classes whose bodies the commit changed, found with ``ast`` on the parent and new
  versions of each gold file.
- ``stdlib``: a copy of the running Python's standard library ``.py`` files *including* its
  ``test/`` directory (the decoys); query = a public function, method or class name defined
  in exactly one non-test module and used in some test file; gold = that module.

Split: whole projects are ``holdout`` by a fixed rule (the two project names with the
smallest sha256), plus a seeded 20% of the stdlib queries; everything else is ``dev``.

The projects' git directories come from snapshots of the public repositories (the session
tool ``fetch`` puts them under ``/work/.mirror/<owner>+<name>/repo``); each project's head is
pinned below so the set is the same whatever the snapshot's age. Nothing fetched or made
here is committed: the JSONL lands in ``--out`` (default ``/work/evaldata``).

Usage: python -m bench.search_dataset [--out DIR] [--mirrors DIR] [--per-project 50]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = 10  # issue 10
DEFAULT_OUT = Path("/work/evaldata")
DEFAULT_MIRRORS = Path("/work/.mirror")
SINCE = "2015-01-01"  # Python-3-era history that today's ``ast`` parses
MAX_GOLD = 5
MAX_CHANGED_LINES = 400  # bigger package diffs are reformat/refactor sweeps, not tasks
MAX_IDENTIFIERS = 4
STDLIB_QUERIES = 75
HOLDOUT_PROJECTS = 2
HOLDOUT_STDLIB_FRACTION = 0.2


@dataclass(frozen=True)
class Project:
    name: str
    repo: str  # owner/name of the public repository
    head: str  # pinned commit the history walk starts from
    packages: tuple[str, ...]  # path prefixes of the package code (all layouts it had)
    # Subjects start with a gitmoji ("🐛 Fix ..."): strip it (see ``GITMOJI``). Off for the
    # earlier sets, which were made without it and stay reproducible as they were.
    gitmoji: bool = False

    def mirror(self, mirrors: Path) -> Path:
        return mirrors / self.repo.replace("/", "+") / "repo"


PROJECTS: tuple[Project, ...] = (
    Project(
        "flask",
        "pallets/flask",
        "2ac89889f4cc330eabd50f295dcef02828522c69",
        ("src/flask/", "flask/"),
    ),
    Project(
        "werkzeug",
        "pallets/werkzeug",
        "1b00618e787f40dfb21eba29caf8f8be7c8e1d93",
        ("src/werkzeug/", "werkzeug/"),
    ),
    Project(
        "jinja",
        "pallets/jinja",
        "5ef70112a1ff19c05324ff889dd30405b1002044",
        ("src/jinja2/", "jinja2/"),
    ),
    Project(
        "click",
        "pallets/click",
        "2c8cd3ac958a7eb316d67f2d316c27086c4c0369",
        ("src/click/", "click/"),
    ),
    Project(
        "attrs",
        "python-attrs/attrs",
        "c1dc5dcba16ed827aa6dcad896b41a3afedb4e32",
        ("src/attr/", "src/attrs/"),
    ),
    Project("rich", "Textualize/rich", "42899d8a0a96b121a514516f4be9db44ff7aeaf3", ("rich/",)),
    Project("httpx", "encode/httpx", "ae1b9f66238f75ced3ced5e4485408435de10768", ("httpx/",)),
    Project(
        "black",
        "psf/black",
        "8947c48ef2077c3a301b03c1e814dc2e3f78436e",
        ("src/black/", "src/blackd/", "black.py", "blackd.py"),
    ),
)

# A second held-out set, made after the first holdout had been looked at (session 3):
# projects never used for tuning. ``--fresh`` writes them, all as ``holdout``, to their own
# directory; they take no part in the hash rule above, so the original split is unchanged.
FRESH_PROJECTS: tuple[Project, ...] = (
    Project(
        "requests",
        "psf/requests",
        "1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e",
        ("src/requests/", "requests/"),
    ),
    Project(
        "starlette",
        "encode/starlette",
        "cb8f84f5284dc301ca7a31eb732b9e140769dd48",
        ("starlette/",),
    ),
    Project(
        "itsdangerous",
        "pallets/itsdangerous",
        "672971d66a2ef9f85151e53283113f33d642dabd",
        ("src/itsdangerous/", "itsdangerous/", "itsdangerous.py"),
    ),
)

# A third held-out set, made in session 4 after every ranking change of that session was
# measured on the development split: ``--fresh 2``.
FRESH2_PROJECTS: tuple[Project, ...] = (
    Project(
        "marshmallow",
        "marshmallow-code/marshmallow",
        "341b927f219205704728c05cd61f04d7e9727523",
        ("src/marshmallow/", "marshmallow/"),
    ),
    Project(
        "alembic",
        "sqlalchemy/alembic",
        "20e58db01cad3432c24734e11b893303cdb687a4",
        ("alembic/",),
    ),
    Project(
        "uvicorn",
        "encode/uvicorn",
        "e6c7ce791fc634b6eedee40e0d0207faa8a9aefd",
        ("uvicorn/",),
    ),
)

# A fourth held-out set, made in session 5 with no ranking change since the third: an
# estimate of the final ranking on projects it has never met (``--fresh 3``).
FRESH3_PROJECTS: tuple[Project, ...] = (
    Project(
        "typer",
        "fastapi/typer",
        "9a7b2e83f6b62c750d6026b0de9ebf2026a8b8fa",
        ("typer/",),
        gitmoji=True,
    ),
    Project(
        "waitress",
        "Pylons/waitress",
        "4a378915f6fef264c6aaf03f059bd992287ba8ba",
        ("src/waitress/", "waitress/"),
    ),
    Project(
        "packaging",
        "pypa/packaging",
        "053c884615f2e83d80705251b447769ec2599653",
        ("src/packaging/", "packaging/"),
    ),
)

# A fifth held-out set, made in session 7 before any ranking change of that session: projects
# never used for tuning (``--fresh 4``).
FRESH4_PROJECTS: tuple[Project, ...] = (
    Project(
        "gunicorn",
        "benoitc/gunicorn",
        "65ac1a3a4c0aa00960968c720d6e6bd2ac32f1b9",
        ("gunicorn/",),
    ),
    Project("loguru", "Delgan/loguru", "2a17be730e111cf874d0bf967c4c5da15b7e4670", ("loguru/",)),
    Project(
        "cattrs",
        "python-attrs/cattrs",
        "82b02c07ca535a1ba656b935767d819eac9d383b",
        ("src/cattrs/", "src/cattr/", "cattrs/", "cattr/"),
    ),
    Project(
        "jsonschema",
        "python-jsonschema/jsonschema",
        "b37f7be6dc7966a1f1a67557976041ffe0826cb3",
        ("jsonschema/",),
    ),
)

# Path components and file names that mark tests, docs, examples, tooling.
NON_PACKAGE_DIRS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "testsuite",
        "idle_test",
        "docs",
        "doc",
        "examples",
        "example",
        "scripts",
        "bench",
        "benchmarks",
        "tools",
        "typing_tests",
    }
)

# Subjects that are not a task a person would search code for.
SKIP_SUBJECT = re.compile(
    r"""^(merge|release|bump|revert|prepare|version|v?\d+\.\d+)\b
      | \b(typos?|spelling|changelog|changes\.rst|readme|pre-commit|pre_commit|precommit
          |pyupgrade|flake8|isort|linting|lint|reformat|formatting|format\ code|run\ black
          |apply\ black|blacken|copyright|license|docstrings?|docs?|documentation|sphinx
          |ci|github\ actions|workflows?|tox|travis|appveyor|azure|coverage|mypy\ config
          |requirements|dependabot|deprecation\ warnings?\ in\ tests|release|dependency
          |dependencies|deps|pep8|pep\ 8|style|unused\ imports?|code\ review|start\ version
          |this\ is\ \d|version\ v?\d|ready\ for\ v?\d|dev\ version|make\ format)\b
      | ^\[pre-commit | ^\W | ^(fix(ed|es)?\ )?(issue\ )?\#\d+\.?$""",
    re.IGNORECASE | re.VERBOSE,
)
# Trailing references: "(#123)", "(gh-12)", "(closes #2208)", "This fixes #469", "fixes #1.".
PR_REF = re.compile(
    r"(\s*\((?:#\d+(?:,\s*)?)+\)|\s*\(gh-\d+\)|\s*\(?(?:this\s+)?(?:closes|fixes|fix|refs?|see)"
    r"\s+#\d+\)?)\.?\s*$",
    re.IGNORECASE,
)


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return any(p in NON_PACKAGE_DIRS for p in parts[:-1])


def is_package_file(project: Project, path: str) -> bool:
    if not path.endswith(".py") or is_test_path(path):
        return False
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in project.packages)


# A leading gitmoji ("🐛 Fix ...", "✨ Add ...", the convention of projects marked
# ``gitmoji``): a person posing the task would not type it. Only symbols outside ASCII, so
# "[pre-commit]" or "#123" subjects stay as they are (and are skipped).
GITMOJI = re.compile(r"^[^\x00-\x7f\w]+\s+")


def clean_subject(subject: str, gitmoji: bool = False) -> str:
    return PR_REF.sub("", GITMOJI.sub("", subject) if gitmoji else subject).strip()


def subject_is_task(subject: str) -> bool:
    return len(subject.split()) >= 3 and SKIP_SUBJECT.search(subject) is None


# ---- git ---------------------------------------------------------------------------------


def git(mirror: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "--git-dir", str(mirror), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:2])}: {done.stderr.strip()[:200]}")
    return done.stdout


def git_show(mirror: Path, rev: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "--git-dir", str(mirror), "show", f"{rev}:{path}"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def history(mirror: Path, head: str) -> Iterator[tuple[str, str, str]]:
    """(commit, parent, subject) of the non-merge commits since ``SINCE``, newest first."""

    out = git(mirror, "log", "--no-merges", f"--since={SINCE}", "--format=%H%x00%P%x00%B%x1e", head)
    for record in out.split("\x1e"):
        if not record.strip():
            continue
        commit, parents, body = record.lstrip("\n").split("\x00", 2)
        subject = body.strip().split("\n", 1)[0].strip()
        if parents and " " not in parents:
            yield commit, parents, subject


def changes(mirror: Path, parent: str, commit: str) -> list[tuple[str, str, int]]:
    """(status, path, lines changed) per file, renames off (a rename is a delete + add)."""

    status = git(mirror, "diff", "--no-renames", "--name-status", parent, commit)
    numstat = git(mirror, "diff", "--no-renames", "--numstat", parent, commit)
    lines: dict[str, int] = {}
    for row in numstat.splitlines():
        added, deleted, path = row.split("\t", 2)
        lines[path] = (int(added) if added != "-" else 0) + (int(deleted) if deleted != "-" else 0)
    result = []
    for row in status.splitlines():
        code, path = row.split("\t", 1)
        result.append((code[0], path, lines.get(path, 0)))
    return result


HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def changed_lines(mirror: Path, parent: str, commit: str, path: str) -> tuple[set[int], set[int]]:
    """Line numbers touched on the parent side and on the new side (1-based). A pure
    insertion marks the parent line it follows, so its enclosing definition counts."""

    diff = git(mirror, "diff", "--no-renames", "-U0", parent, commit, "--", path)
    old: set[int] = set()
    new: set[int] = set()
    for line in diff.splitlines():
        m = HUNK.match(line)
        if not m:
            continue
        a, b = int(m[1]), int(m[2]) if m[2] is not None else 1
        c, d = int(m[3]), int(m[4]) if m[4] is not None else 1
        old.update(range(a, a + b) if b else (a, a + 1))
        new.update(range(c, c + d) if d else (c,))
    return old, new


# ---- definitions -------------------------------------------------------------------------

Definition = tuple[str, int, int, int]  # (name, first line, last line, depth)


def definitions(source: str) -> list[Definition] | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: list[Definition] = []

    def walk(node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                start = min([d.lineno for d in child.decorator_list] + [child.lineno])
                found.append((child.name, start, child.end_lineno or child.lineno, depth))
                walk(child, depth + 1)
            else:
                walk(child, depth)

    walk(tree, 0)
    return found


def enclosing(defs: Sequence[Definition], line: int) -> list[str]:
    """Names of the definitions containing ``line``, innermost first (dunder methods such
    as ``__init__`` name nothing a person would search for: their class stands in)."""

    inside = [d for d in defs if d[1] <= line <= d[2] and not d[0].startswith("__")]
    return [d[0] for d in sorted(inside, key=lambda d: -d[3])]


def changed_definitions(mirror: Path, parent: str, commit: str, path: str) -> list[str] | None:
    """The innermost definitions (existing in the parent) whose lines the commit touched, in
    file order; None when either version does not parse."""

    before, after = git_show(mirror, parent, path), git_show(mirror, commit, path)
    if before is None:
        return None
    old_defs = definitions(before)
    new_defs = definitions(after) if after is not None else []
    if old_defs is None or new_defs is None:
        return None
    known = {d[0] for d in old_defs}
    old_lines, new_lines = changed_lines(mirror, parent, commit, path)
    picked: list[tuple[int, str]] = []
    for line in sorted(old_lines):
        names = enclosing(old_defs, line)
        if names:
            picked.append((line, names[0]))
    start_of = {d[0]: d[1] for d in old_defs}
    for line in sorted(new_lines):
        # A new method inside an old class counts as a change of that class.
        names = [n for n in enclosing(new_defs, line) if n in known]
        if names:
            picked.append((start_of[names[0]], names[0]))
    ordered: list[str] = []
    for _, name in sorted(picked):
        if name not in ordered:
            ordered.append(name)
    return ordered


# ---- the projects' tasks ----------------------------------------------------------------


def project_candidates(project: Project, mirror: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for commit, parent, subject in history(mirror, project.head):
        query = clean_subject(subject, project.gitmoji)
        if not subject_is_task(query):
            continue
        files = changes(mirror, parent, commit)
        package = [(s, p, n) for s, p, n in files if is_package_file(project, p)]
        gold = sorted(p for s, p, _ in package if s in ("M", "D"))
        if not 1 <= len(package) <= MAX_GOLD or not gold:
            continue
        if sum(n for _, _, n in package) > MAX_CHANGED_LINES:
            continue
        rows.append({"commit": commit, "parent": parent, "query": query, "gold": gold})
    return rows


def project_tasks(
    project: Project, mirror: Path, per_project: int, split: str
) -> list[dict[str, Any]]:
    candidates = project_candidates(project, mirror)
    rng = random.Random(f"{SEED}:{project.name}")
    chosen = sorted(
        rng.sample(range(len(candidates)), min(per_project, len(candidates)))
    )  # history order
    tasks: list[dict[str, Any]] = []
    for index in chosen:
        row = candidates[index]
        base = {
            "project": project.name,
            "mirror": str(mirror),
            "commit": row["commit"],
            "parent": row["parent"],
            "gold": row["gold"],
            "split": split,
        }
        tasks.append({**base, "style": "subject", "query": row["query"]})
        names: list[str] = []
        for path in row["gold"]:
            for name in changed_definitions(mirror, row["parent"], row["commit"], path) or []:
                if name not in names:
                    names.append(name)
        if names:
            query = " ".join(names[:MAX_IDENTIFIERS])
            tasks.append({**base, "style": "identifiers", "query": query})
    return tasks


def holdout_projects(names: Sequence[str]) -> set[str]:
    """The fixed rule: the ``HOLDOUT_PROJECTS`` names with the smallest sha256."""

    ranked = sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    return set(ranked[:HOLDOUT_PROJECTS])


# ---- the standard library ---------------------------------------------------------------


def copy_stdlib(dest: Path) -> Path:
    """Every ``.py`` file of the running Python's standard library, ``test/`` included
    (site-packages and caches left out); copied once."""

    corpus = dest / "corpus"
    marker = dest / "copied.json"
    if marker.exists():
        return corpus
    source = Path(sysconfig.get_paths()["stdlib"])
    if corpus.exists():
        shutil.rmtree(corpus)
    count = 0
    for path in sorted(source.rglob("*.py")):
        rel = path.relative_to(source)
        if rel.parts[0] in ("site-packages", "dist-packages") or "__pycache__" in rel.parts:
            continue
        if rel.parts[0].startswith("config-"):
            continue
        target = corpus / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        count += 1
    marker.write_text(json.dumps({"python": sys.version.split()[0], "files": count}) + "\n")
    return corpus


def stdlib_tasks(corpus: Path, count: int) -> list[dict[str, Any]]:
    modules: dict[str, str] = {}
    tests: list[str] = []
    for path in sorted(corpus.rglob("*.py")):
        rel = path.relative_to(corpus).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        (tests.append(text) if is_test_path(rel) else modules.__setitem__(rel, text))
    # name -> [(module, class or "")] over every non-test module
    defined: dict[str, list[tuple[str, str]]] = {}
    for rel, text in modules.items():
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.setdefault(node.name, []).append((rel, ""))
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        defined.setdefault(item.name, []).append((rel, node.name))
    test_words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", "\n".join(tests)))
    pool = sorted(
        (name, places[0][0], places[0][1])
        for name, places in defined.items()
        if len({m for m, _ in places}) == 1
        and not name.startswith("_")
        and len(name) >= 5
        and name in test_words
    )
    rng = random.Random(f"{SEED}:stdlib")
    picked = rng.sample(pool, min(count, len(pool)))
    holdout = set(rng.sample(range(len(picked)), round(len(picked) * HOLDOUT_STDLIB_FRACTION)))
    tasks = []
    for i, (name, module, cls) in enumerate(picked):
        query = f"{cls} {name}" if cls and i % 3 == 0 else name
        tasks.append(
            {
                "project": "stdlib",
                "mirror": None,
                "corpus": str(corpus),
                "commit": None,
                "parent": None,
                "style": "stdlib",
                "query": query,
                "gold": [module],
                "split": "holdout" if i in holdout else "dev",
            }
        )
    return tasks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.search_dataset", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--per-project", type=int, default=50)
    parser.add_argument("--projects", help="comma-separated subset (default: all)")
    parser.add_argument(
        "--fresh",
        nargs="?",
        type=int,
        const=1,
        default=0,
        choices=(1, 2, 3, 4),
        help="make a later held-out set: 1 = FRESH_PROJECTS (session 3), 2 = FRESH2_PROJECTS "
        "(session 4), 3 = FRESH3_PROJECTS (session 5), 4 = FRESH4_PROJECTS (session 7); all "
        "holdout, no stdlib; use with a separate --out",
    )
    args = parser.parse_args(argv)
    wanted = set(args.projects.split(",")) if args.projects else None
    pool = {
        0: PROJECTS,
        1: FRESH_PROJECTS,
        2: FRESH2_PROJECTS,
        3: FRESH3_PROJECTS,
        4: FRESH4_PROJECTS,
    }[args.fresh]
    projects = [p for p in pool if wanted is None or p.name in wanted]
    if args.fresh:
        holdout = {p.name for p in pool}
        wanted = wanted or {p.name for p in pool}  # no stdlib in a fresh set
    else:
        holdout = holdout_projects([p.name for p in PROJECTS])
    args.out.mkdir(parents=True, exist_ok=True)
    tasks: list[dict[str, Any]] = []
    for project in projects:
        mirror = project.mirror(args.mirrors)
        if not mirror.is_dir():
            print(f"trifecta: error: {mirror}: no git snapshot of {project.repo}", file=sys.stderr)
            return 1
        split = "holdout" if project.name in holdout else "dev"
        made = project_tasks(project, mirror, args.per_project, split)
        print(f"{project.name}: {len(made)} tasks ({split})", file=sys.stderr)
        tasks.extend(made)
    if wanted is None or "stdlib" in wanted:
        corpus = copy_stdlib(args.out / "stdlib")
        made = stdlib_tasks(corpus, STDLIB_QUERIES)
        print(f"stdlib: {len(made)} tasks", file=sys.stderr)
        tasks.extend(made)
    for i, task in enumerate(tasks):
        task["id"] = i
    target = args.out / "tasks.jsonl"
    with target.open("w", encoding="utf-8") as f:
        for task in tasks:
            f.write(json.dumps(task, sort_keys=True) + "\n")
    summary: dict[str, dict[str, int]] = {}
    for task in tasks:
        key = f"{task['project']}/{task['style']}"
        summary.setdefault(key, {"dev": 0, "holdout": 0})[task["split"]] += 1
    print(json.dumps({"tasks": str(target), "counts": summary}, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
