"""The CLI's renderers (``trifecta/adapters/cli/render``) on answers the use cases return:
text for people, JSON for programs, and the CLI's own hints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tests.conftest import CliRunner
from trifecta.adapters.cli.hints import message_for
from trifecta.adapters.cli.render.packs import get_json, get_text, search_json, search_text
from trifecta.adapters.cli.render.skeletons import skeleton_to_json
from trifecta.adapters.cli.render.symbols import resolution_json, resolution_text
from trifecta.api import Segment
from trifecta.domain.errors import InvalidRequest, LanguageServerCold, LanguageServerTimeout


def test_search_and_get_render_what_the_use_cases_return(py_segment: Path) -> None:
    with Segment(py_segment, {"telemetry": {"level": "off"}}) as seg:
        seg.build()
        result = seg.search("ContextService", limit=3)
        got = seg.get(["pkg/service.py"], mode="raw", budget_token_est=50)
    first = result.hits[0].chunk
    text = search_text(result)
    assert text.startswith(f"query: ContextService  ({result.total_hits} matching chunks)\n")
    assert f"1. [{first.id}] {first.title}" in text
    doc = search_json(result)
    hits = doc["hits"]
    assert isinstance(hits, list)
    assert [h["id"] for h in hits] == [h.chunk.id for h in result.hits]
    assert doc["stale"] is False and "files" not in doc
    body = get_text(got, pd_report=True)
    served = got.chunks[0]
    assert f"--- [{served.chunk.id}] {served.citation} ({served.mode}" in body
    assert f"degraded from {served.degraded_from}" in body  # 50 tokens fit the skeleton only
    assert body.rstrip().splitlines()[-1].startswith("pd_report: requested=raw ")
    assert get_json(got)["total_tokens"] == got.total_tokens


def test_a_stale_answer_names_the_cli_remedy(py_segment: Path) -> None:
    with Segment(py_segment, {"telemetry": {"level": "off"}}) as seg:
        seg.build()
        (py_segment / "pkg" / "new.py").write_text("def brand_new():\n    pass\n")
        result = seg.search("service")
    assert result.freshness.stale
    assert "STALE (run ctx sync or pass --sync): new: pkg/new.py" in search_text(result)


def test_resolution_renders_matches_and_who_answered(py_segment: Path) -> None:
    with Segment(py_segment, {"telemetry": {"level": "off"}}) as seg:
        answer = seg.resolve("pkg.service:ContextService", no_lsp=True)
    text = resolution_text(answer)
    assert text.splitlines()[0] == "pkg/service.py:4:7  class ContextService"
    assert "answered by ast, lsp_disabled" in text
    assert resolution_json(answer)["matches"][0]["qualname"] == "ContextService"


def test_inner_errors_name_fields_and_the_cli_names_its_flags() -> None:
    ns = argparse.Namespace(require_lsp=True)
    assert str(InvalidRequest("budget_token_est", "must be at least 1")) == (
        "budget_token_est must be at least 1"
    )
    assert message_for(InvalidRequest("limit", "must be at least 1"), ns) == (
        "--limit must be at least 1"
    )
    assert message_for(LanguageServerCold("no warm server runs"), ns).endswith(
        "run `trifecta lsp start`"
    )
    assert message_for(LanguageServerTimeout("late"), ns) == (
        "late; rerun without --require-lsp to use the fallback"
    )
    plain = argparse.Namespace()
    assert message_for(LanguageServerTimeout("late"), plain) == "late"


def test_bad_request_values_are_one_line_errors_naming_the_flag(
    py_segment: Path, cli: CliRunner
) -> None:
    cli(py_segment, "ctx", "build")
    proc = cli(py_segment, "ctx", "search", "-q", "service", "--limit", "0", check=False)
    assert proc.returncode == 2 and proc.stderr == "trifecta: error: --limit must be at least 1\n"
    proc = cli(py_segment, "ctx", "get", "-i", "x", "--max-chunks", "0", check=False)
    assert proc.stderr == "trifecta: error: --max-chunks must be at least 1\n"
    proc = cli(py_segment, "ctx", "get", "-i", ",", check=False)
    assert proc.stderr == "trifecta: error: --ids needs at least one chunk id\n"


def test_resolve_events_are_recorded_by_the_application(py_segment: Path) -> None:
    with Segment(py_segment) as seg:
        seg.resolve("pkg.service:make_service", no_lsp=True)
    lines = (py_segment / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    (event,) = [e for e in map(json.loads, lines) if e["cmd"] == "ast.resolve"]
    # "pkg/service.py:11:5 function make_service": 41 characters -> 11 tokens
    assert event["tokens"] == 11 and event["result"]["resolved_by"] == "ast"


def test_skeleton_json_shape(py_segment: Path) -> None:
    with Segment(py_segment, {"telemetry": {"level": "off"}}) as seg:
        doc = skeleton_to_json(seg.skeleton("pkg/service.py"))
    assert set(doc) >= {"path", "parser", "partial", "cache_hit", "source_bytes", "symbols"}
    assert doc["symbols"][1] == {
        "kind": "method",
        "name": "resolve_segment_state",
        "qualname": "ContextService.resolve_segment_state",
        "signature": "def resolve_segment_state(self) -> str",
        "line_start": 7,
        "line_end": 8,
        "doc": None,
        "decorators": [],
    }
