"""``trifecta mcp``: the tools of one segment over the Model Context Protocol (docs/mcp.md).

Built on the official SDK's ``MCPServer``; imported only by the ``mcp`` command (the SDK
costs ~450 ms to import). Answers carry the CLI's JSON fields (the CLI renderers make them)
and are bounded (``bounds``); a failure is a tool error with one line, never a crash.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from trifecta._version import __version__
from trifecta.adapters.cli.render.packs import get_json, search_json
from trifecta.adapters.cli.render.skeletons import module_symbols_to_json, skeleton_to_json
from trifecta.adapters.cli.render.symbols import resolution_json
from trifecta.adapters.mcp.bounds import fit_list, token_estimate
from trifecta.adapters.mcp.service import Progress, SegmentService
from trifecta.domain.errors import InvalidRequest, TrifectaError

T = TypeVar("T")

# request field -> the tool parameter that sets it
PARAMS = {"budget_token_est": "budget", "ids": "ids", "limit": "limit"}

INSTRUCTIONS = (
    "trifecta: context for one code segment. search finds chunks (ids feed get); get "
    "serves them within a token budget; skeleton/symbols show signatures without bodies; "
    "resolve/definition find where a symbol is defined. Answers are fresh after edits."
)


def _one_line(error: BaseException) -> str:
    if isinstance(error, InvalidRequest):
        return f"{PARAMS.get(error.field, error.field)} {error.reason}"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


class Tools:
    """The tool bodies: each runs on the service's worker thread and returns JSON data."""

    def __init__(self, service: SegmentService) -> None:
        self.service = service
        self.seg = service.segment

    async def call(
        self,
        tool: str,
        args: Mapping[str, Any],
        body: Callable[[Progress], dict[str, Any]],
        ctx: Context | None,
        lane: Literal["worker", "build"] = "worker",
    ) -> dict[str, Any]:
        """Run ``body`` on the worker (or, ``lane="build"``, on a build thread), record
        ``mcp.<tool>``, map failures to a tool error."""

        loop = asyncio.get_running_loop()
        service = self.service

        def progress(done: float, total: float | None, message: str) -> None:
            if ctx is None:
                return
            sent = asyncio.run_coroutine_threadsafe(ctx.report_progress(done, total, message), loop)
            try:  # sent before the answer (so in order), never holding the worker long
                sent.result(timeout=5)
            except Exception:
                sent.cancel()

        def job() -> dict[str, Any]:
            start = time.perf_counter_ns()
            try:
                payload = body(progress)
            except TrifectaError as e:
                service.record(tool, args, "error", start, 0, error=type(e).__name__)
                raise ToolError(_one_line(e)) from None
            except ToolError as e:
                service.record(tool, args, "error", start, 0, error="ToolError")
                raise e from None
            except Exception as e:
                service.record(tool, args, "error", start, 0, error=type(e).__name__)
                raise ToolError(f"internal error: {type(e).__name__}: {_one_line(e)}") from None
            fields: dict[str, Any] = {
                k: payload[k] for k in ("resolved_by", "fallback_reason") if k in payload
            }
            if "truncated" in payload:
                fields["truncated"] = payload["truncated"]
            service.record(tool, args, "ok", start, token_estimate(payload), **fields)
            return payload

        submit = service.submit_build if lane == "build" else service.submit
        return await asyncio.wrap_future(submit(job))

    def pack_lane(self) -> Literal["worker", "build"]:
        """Search and get run where the pack is: on a build thread when there is none yet
        (they build it first; the other tools go on meanwhile), else on the worker."""

        return "worker" if self.service.has_pack() else "build"

    # ---- packs -------------------------------------------------------------------------

    def search(self, query: str, limit: int, files: bool, progress: Progress) -> dict[str, Any]:
        building = self.service.building  # a build runs: answer from the pack as it is

        def run() -> dict[str, Any]:
            found = self.seg.search(query, limit=limit, sync=not building, files=files)
            return search_json(found)

        payload = self.service.with_pack(run, progress)
        self.service.last_freshness = {"stale": payload["stale"], **payload["freshness"]}
        if building:
            payload["building"] = True
        return fit_list(payload, "files" if files else "hits", self.service.max_tokens)

    def get(
        self,
        ids: list[str],
        mode: str,
        budget: int | None,
        query: str | None,
        progress: Progress,
    ) -> dict[str, Any]:
        bound = self.service.max_tokens
        if budget is not None and budget > bound:
            raise ToolError(f"budget {budget} is over this server's answer bound ({bound} tokens)")
        wanted = tuple(dict.fromkeys(i.strip() for i in ids if i.strip()))
        building = self.service.building

        def run() -> dict[str, Any]:
            result = self.seg.get(
                wanted, mode=mode, budget_token_est=budget, query=query, sync=not building
            )
            return get_json(result)

        payload = self.service.with_pack(run, progress)
        if building:
            payload["building"] = True
        return fit_list(payload, "chunks", bound)

    def build(self, full: bool, progress: Progress) -> dict[str, Any]:
        what = "building the context pack" if full else "syncing the context pack"
        progress(0, None, what)
        report = self.service.build(not full, progress)
        progress(1, 1, f"done: {report.files} files, {report.chunks} chunks")
        payload = report.to_dict()
        for key in ("read", "removed", "skipped", "warnings"):
            payload = fit_list(payload, key, self.service.max_tokens // 4)
        return payload

    # ---- skeletons -----------------------------------------------------------------------

    def _inside(self, path: str) -> str:
        """An absolute path for the reader, which refuses anything outside the segment."""

        given = Path(path)
        return str(given if given.is_absolute() else self.seg.root / given)

    def skeleton(self, path: str, offset: int) -> dict[str, Any]:
        if offset < 0:
            raise ToolError("offset must be 0 or more")
        batch = self.seg.skeletons([self._inside(path)])
        if batch.single_file and len(batch.results) != 1:
            raise ToolError(batch.failures[0].reason if batch.failures else f"{path}: no answer")
        items: list[dict[str, Any]] = []
        for item in batch.items:
            if hasattr(item, "skeleton"):
                items.append(skeleton_to_json(item))  # type: ignore[arg-type]
            else:
                items.append({"path": item.path, "error": item.error, "reason": item.reason})
        payload = {"path": path, "files": items[offset:], "notes": list(batch.notes)}
        if batch.single_file:
            return fit_list({**payload, "files": items}, "files", self.service.max_tokens)
        return fit_list(payload, "files", self.service.max_tokens, offset=offset)

    def symbols(self, selector: str) -> dict[str, Any]:
        answer = self.seg.module_symbols(selector)
        return fit_list(module_symbols_to_json(answer), "symbols", self.service.max_tokens)

    # ---- symbols -------------------------------------------------------------------------

    def resolve(self, selector: str) -> dict[str, Any]:
        payload = resolution_json(self.service.resolve(self.seg.resolve, selector))
        return fit_list(payload, "matches", self.service.max_tokens)

    def definition(self, path: str, line: int, column: int) -> dict[str, Any]:
        position = f"{path}:{line}:{column}"
        payload = resolution_json(self.service.resolve(self.seg.definition, position))
        return fit_list(payload, "matches", self.service.max_tokens)

    # ---- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        service = self.service
        # pack facts from the index, and this server's own run from memory: neither reads the
        # pack or the event log, whose size grows with the segment and the history
        # (`trifecta telemetry summary` has every run)
        stats = self.seg.ctx_stats(usage=False).to_dict()
        run = self.seg.telemetry.session()
        mcp_latency = {k: v for k, v in run["latencies"].items() if k.startswith("mcp.")}
        payload: dict[str, Any] = {
            "segment": self.seg.root.name,
            "version": __version__,
            "pack": stats["pack"],
            "freshness": service.last_freshness,
            "language_server": {"state": service.lsp_state, "reason": service.lsp_reason},
            "max_tokens": service.max_tokens,
            "telemetry": {
                "run_id": run["run_id"],
                "latencies": run["latencies"],
                "mcp": mcp_latency,
                "counters": run["metrics_delta"],
                "health": run["telemetry"],
            },
        }
        if token_estimate(payload) > service.max_tokens:
            payload["telemetry"] = {"latencies": mcp_latency, "note": "summary cut to mcp.*"}
        return payload


def build_server(service: SegmentService) -> MCPServer[Any]:
    """The ``MCPServer`` with trifecta's eight tools on ``service``'s segment."""

    tools = Tools(service)
    server: MCPServer[Any] = MCPServer(
        "trifecta", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    @server.tool(
        description="Ranked search over the segment's context pack (BM25 over code and docs). "
        "Returns hits with id, path, lines, preview; pass ids to get. files=true ranks "
        "distinct files instead. Syncs edited files first."
    )
    async def search(
        query: str, ctx: Context, limit: int = 10, files: bool = False
    ) -> dict[str, Any]:
        args = {"query": query[:120], "limit": limit, "files": files}
        return await tools.call(
            "search", args, lambda p: tools.search(query, limit, files, p), ctx, tools.pack_lane()
        )

    @server.tool(
        description="Chunks by id (from search) within a token budget. mode raw|excerpt|"
        "skeleton; over budget a chunk degrades raw -> excerpt -> skeleton and says so "
        "(degraded_from). Citations are path:line-line."
    )
    async def get(
        ids: list[str],
        ctx: Context,
        mode: Literal["raw", "excerpt", "skeleton"] = "excerpt",
        budget: int | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        args = {"ids": len(ids), "mode": mode, "budget": budget}
        return await tools.call(
            "get", args, lambda p: tools.get(ids, mode, budget, query, p), ctx, tools.pack_lane()
        )

    @server.tool(
        description="Signatures without bodies (classes, functions, methods, constants with "
        "lines and first doc line) of a segment file or of every Python file under a "
        "directory; pages with offset."
    )
    async def skeleton(path: str, ctx: Context, offset: int = 0) -> dict[str, Any]:
        args = {"path": path, "offset": offset}
        return await tools.call("skeleton", args, lambda p: tools.skeleton(path, offset), ctx)

    @server.tool(
        description="Symbols of a module, narrowed to a member: "
        "sym://python/mod/pkg.mod#Class or pkg.mod:Class."
    )
    async def symbols(selector: str, ctx: Context) -> dict[str, Any]:
        args = {"selector": selector[:200]}
        return await tools.call("symbols", args, lambda p: tools.symbols(selector), ctx)

    @server.tool(
        description="Where a symbol is defined: sym://python/mod/pkg.mod#Name or pkg.mod:Name. "
        "Answered by pyright when warm, else the ast/Tree-sitter index "
        "(resolved_by, fallback_reason say which and why)."
    )
    async def resolve(selector: str, ctx: Context) -> dict[str, Any]:
        args = {"selector": selector[:200]}
        return await tools.call("resolve", args, lambda p: tools.resolve(selector), ctx)

    @server.tool(
        description="Definition of the identifier at path:line:column (1-based) of a segment "
        "file, through pyright or the index fallback (resolved_by, fallback_reason)."
    )
    async def definition(path: str, line: int, column: int, ctx: Context) -> dict[str, Any]:
        args = {"path": path, "line": line, "column": column}
        return await tools.call(
            "definition", args, lambda p: tools.definition(path, line, column), ctx
        )

    @server.tool(
        description="Sync the context pack with the files (only changed files are re-read); "
        "full=true rebuilds it. Reports progress. Search and get sync by themselves."
    )
    async def build(ctx: Context, full: bool = False) -> dict[str, Any]:
        return await tools.call(
            "build", {"full": full}, lambda p: tools.build(full, p), ctx, "build"
        )

    @server.tool(
        description="Pack facts and freshness, the language server's state, this segment's "
        "telemetry summary (latency per tool)."
    )
    async def status(ctx: Context) -> dict[str, Any]:
        return await tools.call("status", {}, lambda p: tools.status(), ctx)

    return server
