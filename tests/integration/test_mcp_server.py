"""The MCP server in process, through the SDK's own client (``mcp.Client(server)``), on a
real segment, real SQLite index and real files (pyright off here: the stdio tests run it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client

from tests.integration.test_composition_root import modules_after
from trifecta.adapters.mcp.bounds import token_estimate
from trifecta.adapters.mcp.server import build_server
from trifecta.adapters.mcp.service import SegmentService, segment_flags
from trifecta.api import Segment

TOOLS = {"search", "get", "skeleton", "symbols", "resolve", "definition", "build", "status"}

Session = Callable[[Client, SegmentService], Awaitable[None]]


def with_client(segment: Path, session: Session, max_tokens: int = 20_000) -> None:
    flags = segment_flags()
    flags["lsp"]["enabled"] = False
    service = SegmentService(Segment(segment, flags), max_tokens, warm_lsp=False)

    async def main() -> None:
        async with Client(build_server(service)) as client:
            await session(client, service)

    try:
        asyncio.run(main())
    finally:
        service.close()


def big_class_segment(seg: Path) -> None:
    body = "".join(
        f"    def method_{i}(self, value: int) -> int:\n        return value + {i}\n\n"
        for i in range(333)
    )
    (seg / "pkg" / "huge.py").write_text(f"class HugeThing:\n    '''Huge.'''\n\n{body}")


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict)
    return data


async def error_of(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


def test_eight_tools_with_short_descriptions_and_typed_defaults(py_segment: Path) -> None:
    async def session(client: Client, service: SegmentService) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and len(tool.description) < 300, tool.name
        search = tools["search"].input_schema
        assert search["required"] == ["query"]
        assert search["properties"]["limit"]["type"] == "integer"
        assert search["properties"]["limit"]["default"] == 10
        assert tools["get"].input_schema["properties"]["mode"]["default"] == "excerpt"

    with_client(py_segment, session)


def test_an_agent_loop_search_get_resolve_edit_search(py_segment: Path) -> None:
    async def session(client: Client, service: SegmentService) -> None:
        messages: list[str] = []
        steps: list[tuple[float, float | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            messages.append(message or "")
            steps.append((progress, total))

        # no pack yet: the first search builds it, with progress
        first = await client.call_tool(
            "search", {"query": "ContextService"}, progress_callback=on_progress
        )
        assert not first.is_error
        assert isinstance(first.structured_content, dict)
        hits = first.structured_content["hits"]
        assert hits[0]["path"] == "pkg/service.py" and hits[0]["title"] == "ContextService"
        assert any("building" in m for m in messages), messages
        # the build's own progress, forwarded: files done / total, the last one complete
        files_done = [s for s, m in zip(steps, messages, strict=True) if m.endswith(" files")]
        assert files_done[0] == (0, 15) and files_done[-1] == (15, 15), messages
        assert "15/15 files" in messages

        got = await call(client, "get", ids=[hits[0]["id"]], mode="raw")
        assert "class ContextService" in got["chunks"][0]["text"]
        assert got["chunks"][0]["citation"] == "pkg/service.py:4-8"

        resolved = await call(client, "resolve", selector="pkg.service:ContextService")
        assert resolved["matches"][0]["path"] == "pkg/service.py"
        assert resolved["matches"][0]["line"] == 4
        assert (resolved["resolved_by"], resolved["fallback_reason"]) == ("ast", "lsp_disabled")

        defined = await call(client, "definition", path="pkg/use_0.py", line=5, column=12)
        assert defined["matches"][0]["qualname"] == "make_service"

        # an edit shows up in the very next search
        (py_segment / "pkg" / "service.py").write_text(
            "def brand_new_quokka_helper() -> int:\n    return 1\n"
        )
        after = await call(client, "search", query="quokka")
        assert after["hits"][0]["title"] == "brand_new_quokka_helper"
        assert after["stale"] is False

        symbols = await call(client, "symbols", selector="pkg.use_3")
        assert [s["name"] for s in symbols["symbols"]] == ["use_3"]
        skeleton = await call(client, "skeleton", path="pkg/use_1.py")
        assert skeleton["files"][0]["symbols"][0]["signature"].startswith("def use_1(")

        built = await call(client, "build")
        assert built["incremental"] is True and built["files"] == 15
        status = await call(client, "status")
        assert status["pack"]["files"] == 15
        assert status["language_server"]["state"] == "off"
        assert status["telemetry"]["mcp"]["mcp.search"]["count"] == 2

    with_client(py_segment, session)
    summary = Segment(py_segment).telemetry_summary()
    for tool in ("search", "get", "resolve", "definition", "symbols", "skeleton", "build"):
        assert summary["latencies"][f"mcp.{tool}"]["count"] >= 1, tool
    events = [
        json.loads(line)
        for f in sorted((py_segment / "_ctx" / "telemetry").glob("events*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    resolve = next(e for e in events if e["cmd"] == "mcp.resolve")
    assert resolve["resolved_by"] == "ast" and resolve["tokens"] > 0


def test_bad_input_is_a_one_line_tool_error_and_the_server_goes_on(py_segment: Path) -> None:
    async def session(client: Client, service: SegmentService) -> None:
        await call(client, "build", full=True)
        cases: list[tuple[str, dict[str, Any], str]] = [
            ("get", {"ids": ["pkg/nope.py#Nope"]}, "unknown chunk id"),
            ("resolve", {"selector": "sym://python/mod/#X"}, "malformed selector"),
            ("skeleton", {"path": "../../etc/passwd"}, "outside the segment"),
            ("definition", {"path": "/etc/passwd", "line": 1, "column": 1}, "outside"),
            ("get", {"ids": ["pkg/service.py#ContextService"], "budget": 10**9}, "bound"),
            ("search", {"query": "service", "limit": 0}, "limit must be at least 1"),
            ("search", {"query": "!!!"}, "no searchable words"),
        ]
        for tool, args, expected in cases:
            message = await error_of(client, tool, **args)
            assert expected in message and "\n" not in message, (tool, message)
            assert "Traceback" not in message
        assert (await call(client, "search", query="service"))["hits"]  # still serving

    with_client(py_segment, session)


def test_answers_stay_within_the_bound_and_say_when_they_are_cut(py_segment: Path) -> None:
    big_class_segment(py_segment)

    async def session(client: Client, service: SegmentService) -> None:
        await call(client, "build", full=True)
        raw = await call(client, "get", ids=["pkg/huge.py#HugeThing"], mode="raw", budget=300)
        chunk = raw["chunks"][0]
        assert len((py_segment / "pkg" / "huge.py").read_text().splitlines()) >= 1_000
        assert chunk["mode"] != "raw" and chunk["degraded_from"] == "raw"
        assert raw["total_tokens"] <= 300

        listed = await call(client, "skeleton", path="pkg", offset=0)
        assert listed["truncated"] is True and "offset=" in listed["note"]
        assert token_estimate(listed) <= 1_000
        rest = await call(client, "skeleton", path="pkg", offset=listed["next_offset"])
        first = {f["path"] for f in listed["files"]}
        assert first.isdisjoint(f["path"] for f in rest["files"])

        methods = await call(client, "symbols", selector="pkg.huge:HugeThing")
        assert methods["truncated"] is True and token_estimate(methods) <= 1_000
        for query in ("method", "value", "service"):
            found = await call(client, "search", query=query, limit=200)
            assert token_estimate(found) <= 1_000

    with_client(py_segment, session, max_tokens=1_000)


def test_the_cli_never_imports_the_sdk(py_segment: Path) -> None:
    assert "mcp" not in modules_after(py_segment, "ctx", "build")
    loaded = modules_after(py_segment, "ctx", "search", "-q", "service")
    assert not {m for m in loaded if m == "mcp" or m.startswith("mcp.")}


def test_without_the_extra_the_command_says_what_to_install(py_segment: Path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['mcp'] = None\n"  # as if the extra were not installed
        "from trifecta.adapters.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, "--segment", str(py_segment), "mcp"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        "trifecta: error: the MCP server needs the mcp extra: pip install 'trifecta[mcp]'\n"
    )


def test_a_build_does_not_hold_up_the_other_tools(py_segment: Path) -> None:
    async def session(client: Client, service: SegmentService) -> None:
        await call(client, "build", full=True)
        (py_segment / "pkg" / "service.py").write_text(
            "def numbat_helper() -> int:\n    return 1\n"
        )
        # another build holds the segment's build thread (as a long build would)
        with service._build_lock:
            waiting = asyncio.ensure_future(client.call_tool("build", {}))
            while not service.building:
                await asyncio.sleep(0.01)
            # meanwhile the other tools answer; search and get from the pack as it is
            found = await asyncio.wait_for(call(client, "search", query="ContextService"), 30)
            assert found["building"] is True and found["stale"] is True
            assert found["freshness"]["changed"] == ["pkg/service.py"]
            assert found["hits"][0]["title"] == "ContextService"  # the pack as built
            status = await asyncio.wait_for(call(client, "status"), 30)
            assert status["pack"]["files"] == 15
            assert not waiting.done()
        synced = await asyncio.wait_for(waiting, 60)
        assert not synced.is_error and synced.structured_content["incremental"] is True
        after = await call(client, "search", query="numbat")
        assert after["hits"][0]["title"] == "numbat_helper" and "building" not in after

    with_client(py_segment, session)
