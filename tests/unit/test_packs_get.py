"""Get on fakes: modes, budget degradation, stop reasons, unknown ids, staleness."""

from __future__ import annotations

import pytest

from tests.unit.packs_world import World
from trifecta.application.packs.get import GetRequest
from trifecta.domain.errors import UnknownChunks
from trifecta.domain.model import ReadMode

BODY = "".join(f"        value_{i} = compute({i})\n" for i in range(80))
FILES: dict[str, bytes | str] = {
    "src/big.py": "class Big\n    def method\n" + BODY + "    def needle_method\n",
    "src/small.py": "def small\n    return 1\n",
    "src/other.py": "def other\n    return 2\n",
    "docs/guide.md": "# Guide\n\nIntro.\n\n## Install\n\nRun pip.\n",
}


def world() -> World:
    w = World(FILES)
    w.build()
    return w


def test_raw_serves_the_whole_chunk_with_a_citation() -> None:
    result = world().get(GetRequest(("src/small.py#small",), ReadMode.RAW))
    (chunk,) = result.chunks
    assert chunk.mode == "raw" and chunk.text == "def small\n    return 1\n"
    assert chunk.citation == "src/small.py:1-2"
    assert result.stop_reason == "complete"
    assert result.bytes_read == len(FILES["src/small.py"])


def test_excerpt_keeps_indentation_and_centres_on_the_query() -> None:
    w = world()
    plain = w.get(GetRequest(("src/big.py#Big",), ReadMode.EXCERPT))
    first = plain.chunks[0]
    assert first.text.startswith("class Big\n    def method\n        value_0")
    assert (first.line_start, first.line_end) == (1, 40)
    centred = w.get(GetRequest(("src/big.py#Big",), ReadMode.EXCERPT, query="needle method"))
    chunk = centred.chunks[0]
    assert "    def needle_method\n" in chunk.text
    assert chunk.line_start == 83 - 10


def test_over_budget_raw_degrades_to_excerpt_then_skeleton_and_says_so() -> None:
    w = world()
    mid = w.get(GetRequest(("src/big.py#Big",), ReadMode.RAW, budget_token_est=500))
    assert mid.chunks[0].mode == "excerpt" and mid.chunks[0].degraded_from == "raw"
    small = w.get(GetRequest(("src/big.py#Big",), ReadMode.RAW, budget_token_est=40))
    chunk = small.chunks[0]
    assert chunk.mode == "skeleton" and chunk.degraded_from == "raw"
    assert "class Big:" in chunk.text and "def needle_method:" in chunk.text
    assert "value_0" not in chunk.text


def test_stop_reasons() -> None:
    w = world()
    ids = ("src/small.py#small", "src/other.py#other", "docs/guide.md#install")
    assert w.get(GetRequest(ids, ReadMode.RAW)).stop_reason == "complete"
    capped = w.get(GetRequest(ids, ReadMode.RAW, max_chunks=2))
    assert capped.stop_reason == "max_chunks" and capped.not_served == ("docs/guide.md#install",)
    tight = w.get(GetRequest(("src/big.py#Big", *ids), ReadMode.RAW, budget_token_est=8))
    assert tight.stop_reason == "budget" and not tight.chunks
    evidence = w.get(GetRequest(ids, ReadMode.RAW, stop_on_evidence=True, query="other"))
    assert evidence.stop_reason == "evidence"
    assert [c.chunk.id for c in evidence.chunks] == ["src/small.py#small", "src/other.py#other"]


def test_unknown_ids_are_an_error_listing_them() -> None:
    with pytest.raises(UnknownChunks, match="nope, also-nope"):
        world().get(GetRequest(("src/small.py#small", "nope", "also-nope")))


def test_stale_files_are_not_served_silently() -> None:
    w = world()
    w.reader.write("src/small.py", "def small\n    return 42\n")
    result = w.get(GetRequest(("src/small.py#small", "src/other.py#other"), ReadMode.RAW))
    stale, fresh = result.chunks
    assert stale.mode == "stale" and stale.text == ""
    assert fresh.mode == "raw"
    assert result.stale and result.not_served == ()
    synced = w.get(GetRequest(("src/small.py#small",), ReadMode.RAW, sync=True))
    assert synced.chunks[0].text.endswith("return 42\n")


def test_markdown_skeleton_is_the_outline() -> None:
    result = world().get(GetRequest(("docs/guide.md#install",), ReadMode.SKELETON))
    assert result.chunks[0].text == "  ## Install\n    Run pip.\n"


def test_get_emits_file_read_and_ctx_get_events() -> None:
    w = world()
    result = w.get(GetRequest(("src/small.py#small",), ReadMode.SKELETON))
    (read,) = w.events("file.read")
    assert read["file_path_rel"] == "src/small.py" and read["read_mode"] == "skeleton"
    assert read["bytes_read"] == len(FILES["src/small.py"])
    (event,) = w.events("ctx.get")
    assert event["disclosure_mode"] == "skeleton"
    assert event["bytes_read"] == result.bytes_read
    assert event["tokens"] == result.total_tokens > 0


def test_get_event_tokens_are_the_served_texts() -> None:
    w = world()
    ids = ("src/small.py#small", "src/other.py#other")
    result = w.get(GetRequest(ids, ReadMode.RAW))
    # "def small\n    return 1\n" and "def other\n    return 2\n": 23 chars -> 6 tokens each.
    assert result.total_tokens == 12
    assert [e["tokens"] for e in w.events("ctx.get")] == [12]
