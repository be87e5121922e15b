"""The container-free resolve path agrees with the container's wiring (ADR 0010)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from trifecta.bootstrap import build_container, name_index_path, skeleton_cache_path
from trifecta.domain.errors import TrifectaError
from trifecta.domain.model import Resolution
from trifecta.embedding import Segment
from trifecta.fastsymbols import CACHE_DIR, NAME_INDEX, SKELETON_CACHE, FastSymbols

A = "def alpha():\n    return 1\n\n\nclass Beta:\n    def gamma(self):\n        return alpha()\n"
B = "from pkg.a import alpha, Beta\n\n\ndef use():\n    return alpha() + Beta().gamma()\n"
BROKEN = "def ok():\n    return 1\n\n\ndef bad(:\n    pass\n"
SELECTORS = [
    "pkg.a:alpha",
    "sym://python/mod/pkg.a#Beta.gamma",
    "pkg.a:missing",
    "pkg.b",
    "pkg.broken:ok",  # ast fails: the Tree-sitter fallback answers
    "nope:x",  # ModuleMissing
    "pkg.a:",  # malformed
]
POSITIONS = [
    "pkg/b.py:5:12",  # alpha
    "pkg/b.py:5:22",  # Beta
    "pkg/b.py:5:29",  # gamma
    "pkg/a.py:7:16",
    "pkg/b.py:2:1",  # blank line
    "pkg/missing.py:1:1",
    "pkg/b.py:0:1",
]
# What may differ between two runs of the same call.
VOLATILE = {"ts", "run_id", "timing_ms", "max_ms", "p50_ms", "p95_ms"}


def make_segment(root: Path) -> Path:
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text(A)
    (root / "pkg" / "b.py").write_text(B)
    (root / "pkg" / "broken.py").write_text(BROKEN)
    return root


def ask(seg: Segment, query: str, **kw: Any) -> Resolution | str:
    """The answer without its timing, or the error's class name."""

    try:
        if ":" in query and query.split(":")[-1].isdigit():
            found = seg.definition(query, **kw)
        else:
            found = seg.resolve(query, **kw)
    except TrifectaError as e:
        return type(e).__name__
    return replace(found, timing_ms=0)


def stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def run_both(root: Path, settings: dict[str, Any], **kw: Any) -> list[Any]:
    """Every query through the fast path, then through the container, each in its own
    Segment; returns [(answers, events, last_run)] for each wiring."""

    warm = Segment(root, settings)  # fill the skeleton cache and name table for both
    for q in SELECTORS + POSITIONS:
        ask(warm, q, **kw)
    warm.close()
    out = []
    for wiring in ("fast", "container"):
        events_file = root / "_ctx" / "telemetry" / "events.jsonl"
        seen = len(events_file.read_text().splitlines()) if events_file.exists() else 0
        seg = Segment(root, settings)
        if wiring == "container":
            assert seg._container is not None  # built first: later calls go through it
        answers = [ask(seg, q, **kw) for q in SELECTORS + POSITIONS]
        assert (seg._built is None) == (wiring == "fast")
        assert (seg._fast_symbols is not None) == (wiring == "fast")
        seg.close()
        lines = events_file.read_text().splitlines()[seen:]
        events = [stable(json.loads(line)) for line in lines]
        last_run = stable(json.loads((root / "_ctx" / "telemetry" / "last_run.json").read_text()))
        out.append((answers, events, last_run))
    return out


def test_fast_resolve_matches_the_container_without_lsp(tmp_path: Path) -> None:
    root = make_segment(tmp_path)
    (fast, slow) = run_both(root, {}, no_lsp=True)
    assert fast[0] == slow[0]
    assert sum(isinstance(a, Resolution) and a.resolved for a in fast[0]) >= 6
    assert "ModuleMissing" in fast[0] and "SelectorError" in fast[0]
    assert [a.resolved_by for a in fast[0] if isinstance(a, Resolution)][4] == "tree_sitter"
    assert fast[1] == slow[1]  # same events, names and fields, in the same order
    names = {e["cmd"] for e in fast[1]}
    assert {"selector.resolve", "ast.cache"} <= names
    assert fast[2] == slow[2]  # last_run.json: counters, pack state, bytes read


def test_fast_resolve_asks_the_warm_server_client_like_the_container(tmp_path: Path) -> None:
    root = make_segment(tmp_path)
    settings: dict[str, Any] = {"lsp": {"autostart": False}}  # nothing may be launched
    (fast, slow) = run_both(root, settings)
    reasons = {a.fallback_reason for a in fast[0] if isinstance(a, Resolution)}
    assert reasons == {"lsp_cold"}
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]
    cold = [e for e in fast[1] if e["cmd"] == "selector.resolve"]
    assert cold and {e["fallback_reason"] for e in cold} == {"lsp_cold"}
    assert fast[2]["metrics_delta"]["lsp_fallback_count"] == len(cold)
    assert fast[2] == slow[2]


def test_same_settings_and_paths_as_the_container(tmp_path: Path) -> None:
    root = make_segment(tmp_path)
    (root / "_ctx").mkdir()
    (root / "_ctx" / "trifecta.toml").write_text("[lsp]\ntimeout_ms = 321\n")
    flags = {"telemetry": {"level": "full"}}
    fast = FastSymbols(root, flags)
    assert fast.settings == build_container(root, flags).config()
    assert root.resolve() / CACHE_DIR / SKELETON_CACHE == skeleton_cache_path(root)
    assert root.resolve() / CACHE_DIR / NAME_INDEX == name_index_path(root)
    seg = Segment(root, flags)
    request = seg._symbol_request("pkg.a:alpha", None, False, False)
    assert request.timeout_ms == 321 and seg._built is None
    seg.close()


def test_in_process_pyright_goes_through_the_container(tmp_path: Path) -> None:
    root = make_segment(tmp_path)
    seg = Segment(root, {"lsp": {"mode": "process"}})
    assert seg._symbols(no_lsp=False) is None  # needs the pyright Resource
    assert seg._symbols(no_lsp=True) is not None  # pyright is not asked
    seg.close()
    with pytest.raises(TrifectaError):
        FastSymbols(root, {"lsp": {"mode": "process"}}).language_server()


def test_the_fast_path_imports_neither_the_container_nor_tree_sitter(tmp_path: Path) -> None:
    root = make_segment(tmp_path)
    script = f"""
import sys
import trifecta.fastsymbols
from trifecta.embedding import Segment
seg = Segment({str(root)!r})
print(seg.resolve("pkg.a:Beta.gamma", no_lsp=True).resolved)
print(seg.definition("pkg/b.py:5:12", no_lsp=True).resolved)
seg.close()
heavy = ("dependency_injector", "tree_sitter", "asyncio", "trifecta.bootstrap",
         "trifecta.adapters.pyright", "trifecta.adapters.lsp_daemon", "trifecta.fastpath",
         "trifecta.application.packs", "trifecta.adapters.sqlite_index")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["True", "True", "[]"]
