"""`make demo`: run trifecta's main job on this repository itself and show each step."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRIFECTA = [sys.executable, "-m", "trifecta"]

STEPS: list[tuple[str, list[str], tuple[int, ...]]] = [
    ("version", ["--version"], (0,)),
    # ---- packs ----
    ("build a context pack of this repository", ["ctx", "build"], (0,)),
    (
        "search it: a CamelCase class name finds its snake_case file",
        ["ctx", "search", "-q", "SearchPack", "-l", "3"],
        (0,),
    ),
    (
        "get a chunk within a small budget: raw degrades to a skeleton and says so",
        [
            "ctx",
            "get",
            "-i",
            "trifecta/application/packs/search.py#SearchPack",
            "-m",
            "raw",
            "-b",
            "300",
            "--pd-report",
        ],
        (0,),
    ),
    ("an unknown chunk id is an error listing it (exit 1)", ["ctx", "get", "-i", "no#such"], (1,)),
    ("validate the pack (hashes, new files, index)", ["ctx", "validate"], (0, 1)),
    ("pack facts and search usage from telemetry", ["ctx", "stats"], (0,)),
    (
        "a malformed selector is a usage error (exit 2)",
        ["ast", "resolve", "sym://python/mod/"],
        (2,),
    ),
    # ---- symbols ---------------------------------------------------------------------------
    (
        "resolve a symbol of this repository from the skeleton index (no pyright)",
        ["ast", "resolve", "trifecta.domain.selector:parse_selector", "--no-lsp"],
        (0,),
    ),
    ("start the warm pyright server of this segment", ["lsp", "start"], (0,)),
    ("its status", ["lsp", "status"], (0,)),
    (
        "the same symbol through pyright (JSON)",
        ["ast", "resolve", "sym://python/mod/trifecta.domain.selector#parse_selector", "--json"],
        (0,),
    ),
    (
        "go to the definition of `emit` where the symbols command imports it",
        ["ast", "definition", "trifecta/adapters/cli/commands/symbols.py:8:42"],
        (0,),
    ),
    ("an unknown symbol is exit 1", ["ast", "resolve", "trifecta.domain.selector:nope"], (1,)),
    ("stop the warm server", ["lsp", "stop"], (0,)),
    # ---- skeletons (issue 4) -------------------------------------------------------------
    (
        "skeleton of a file (a stub with line ranges)",
        ["ast", "skeleton", "trifecta/domain/errors.py"],
        (0,),
    ),
    (
        "symbols of one class, selected with #Member",
        [
            "ast",
            "symbols",
            "sym://python/mod/trifecta.application.skeletons.use_cases#ExtractSkeleton",
        ],
        (0,),
    ),
    (
        "an unknown member is exit 1",
        ["ast", "symbols", "sym://python/mod/trifecta.application.skeletons.use_cases#Nope"],
        (1,),
    ),
    ("a path outside the segment is refused (exit 1)", ["ast", "skeleton", "/etc/hostname"], (1,)),
    # ---- telemetry ----
    (
        "telemetry over all runs: latency, tokens and health per command",
        ["telemetry", "summary"],
        (0,),
    ),
]


def main() -> int:
    failures = 0
    for title, args, expected in STEPS:
        cmd = (
            [*TRIFECTA, "--segment", str(ROOT), *args]
            if args[0] != "--version"
            else [*TRIFECTA, *args]
        )
        print(f"\n=== {title}\n$ trifecta {shlex.join(cmd[3:])}", flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, check=False)
        if proc.returncode not in expected:
            print(f"!!! exit {proc.returncode}, expected {expected}", flush=True)
            failures += 1
    print(f"\ndemo finished: {len(STEPS) - failures}/{len(STEPS)} steps as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
