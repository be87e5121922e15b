"""Per-tool latency of `trifecta mcp` through a real stdio client session against the same
call through the CLI (a new process per call), in the same run, on a standard-library copy.

The server is started once by the SDK's stdio client (`trifecta --segment SEG mcp`); each
sample is one `tools/call` round trip as the client sees it. The CLI samples run
`python -m trifecta ...` per call, interleaved with the MCP ones round by round (the
machine's load hits both alike); the CLI's resolve goes through a warm `lsp start` server.
`python -c pass` runs in the same rounds too (how loaded the machine was). Also reports
the largest answer (tokens, characters/4) and how resolve was answered. The SDK's own floor
runs in the same rounds: a do-nothing server of the SDK (``bench._mcp_echo``) answering a
canned copy of the median-sized search answer (the same nested hits), so
``search_over_sdk_floor`` and ``search_minus_sdk_floor_ms`` say what is ours and what is
the SDK's and the pipes'.

Prints JSON. Usage: python -m bench.mcp [--files N] [--rounds N] [--mcp-per-round N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from bench._common import emit, median_ms, percentile_ms
from bench.packs import QUALITY, make_corpus

SELECTORS = (
    "stdlib.json.decoder:JSONDecoder",
    "stdlib.http.server:HTTPServer",
    "stdlib.argparse:ArgumentParser",
    "stdlib.tempfile:TemporaryDirectory",
)


def _env() -> dict[str, str]:
    """The children's environment: no TRIFECTA_* settings, and byte-code caching on (as an
    installed trifecta has it; otherwise every CLI call would compile the package). The
    CLI samples are the CLI alone: no search server (``bench.startup --served`` has it)."""

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIFECTA_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["TRIFECTA_SEARCH_SERVER"] = "off"
    return env


def _cli(seg: str, *args: str) -> int:
    start = time.perf_counter_ns()
    subprocess.run(
        [sys.executable, "-m", "trifecta", "--segment", seg, *args],
        check=True,
        capture_output=True,
        env=_env(),
    )
    return time.perf_counter_ns() - start


def _tokens(result: Any) -> int:
    return (len(json.dumps(result.structured_content, separators=(",", ":"))) + 3) // 4


async def _session(seg: str, rounds: int, per_round: int, ready_wait_s: float) -> dict[str, Any]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "trifecta", "--segment", seg, "mcp"], env=_env()
    )
    queries = [q for q, _ in QUALITY]
    samples: dict[str, list[int]] = {
        k: [] for k in ("mcp_search", "mcp_get", "mcp_resolve", "cli_search", "cli_get")
    }
    samples["cli_resolve"] = []
    samples["python_pass"] = []  # the machine's load, in the same rounds
    samples["sdk_floor"] = []  # the SDK alone, answering a canned search answer
    resolved_by: Counter[str] = Counter()
    largest = 0
    async with Client(params) as client:

        async def timed(tool: str, args: dict[str, Any]) -> Any:
            nonlocal largest
            start = time.perf_counter_ns()
            result = await client.call_tool(tool, args)
            elapsed = time.perf_counter_ns() - start
            assert not result.is_error, result.content
            largest = max(largest, _tokens(result))
            samples[f"mcp_{tool}"].append(elapsed)
            return result

        ids, answers = [], []
        for q in queries:  # warm-up: page cache, index, and the ids get will ask for
            found = (await client.call_tool("search", {"query": q})).structured_content
            ids.append(found["hits"][0]["id"])
            answers.append(found)
        # the SDK's floor: a do-nothing server answering the median-sized search answer
        answers.sort(key=lambda a: len(json.dumps(a)))
        canned = Path(tempfile.gettempdir()) / f"trifecta-bench-echo-{os.getpid()}.json"
        canned.write_text(json.dumps(answers[len(answers) // 2]), encoding="utf-8")
        echo = StdioServerParameters(
            command=sys.executable, args=["-m", "bench._mcp_echo", str(canned)], env=_env()
        )
        async with Client(echo) as floor:
            deadline = time.monotonic() + ready_wait_s
            while time.monotonic() < deadline:
                status = (await client.call_tool("status", {})).structured_content
                if status["language_server"]["state"] in ("ready", "unavailable", "off"):
                    break
                await asyncio.sleep(1)
            for sel in SELECTORS:  # pyright's first definitions are slow (READY via definition)
                await client.call_tool("resolve", {"selector": sel})
            for _ in range(10):
                await floor.call_tool("echo", {})
            canned.unlink()  # read once, at the echo server's start
            for k in samples:
                samples[k].clear()
            for r in range(rounds):
                for i in range(per_round):
                    n = r * per_round + i
                    await timed("search", {"query": queries[n % len(queries)]})
                    await timed("get", {"ids": [ids[n % len(ids)]]})
                    res = await timed("resolve", {"selector": SELECTORS[n % len(SELECTORS)]})
                    resolved_by[str(res.structured_content["resolved_by"])] += 1
                    start = time.perf_counter_ns()
                    await floor.call_tool("echo", {})
                    samples["sdk_floor"].append(time.perf_counter_ns() - start)
                samples["cli_search"].append(_cli(seg, "ctx", "search", "-q", queries[r % 10]))
                samples["cli_get"].append(_cli(seg, "ctx", "get", "--ids", ids[r % len(ids)]))
                sel = SELECTORS[r % len(SELECTORS)]
                samples["cli_resolve"].append(_cli(seg, "ast", "resolve", sel))
                start = time.perf_counter_ns()
                subprocess.run([sys.executable, "-c", "pass"], check=True)
                samples["python_pass"].append(time.perf_counter_ns() - start)
        status = (await client.call_tool("status", {})).structured_content
    return {
        "samples": samples,
        "resolved_by": dict(resolved_by),
        "largest_answer_tokens": largest,
        "language_server": status["language_server"]["state"],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--mcp-per-round", type=int, default=4)
    parser.add_argument("--ready-wait-s", type=float, default=120)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="trifecta-mcp-bench-") as tmp:
        files = make_corpus(Path(tmp), args.files)
        subprocess.run(
            [sys.executable, "-m", "trifecta", "--segment", tmp, "ctx", "build"],
            check=True,
            capture_output=True,
            env=_env(),
        )
        _cli(tmp, "lsp", "start")  # the CLI's resolve through its warm server
        try:
            out = asyncio.run(_session(tmp, args.rounds, args.mcp_per_round, args.ready_wait_s))
        finally:
            _cli(tmp, "lsp", "stop")
    samples = out.pop("samples")
    result: dict[str, Any] = {
        "benchmark": "mcp",
        **vars(args),
        "files": files,  # what the copy holds (--files asks; this Python may have fewer)
        **out,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    for name, values in samples.items():
        result[f"{name}_p50_ms"] = median_ms(values)
        result[f"{name}_p95_ms"] = percentile_ms(values, 0.95)
        result[f"{name}_n"] = len(values)
    base = max(result["python_pass_p50_ms"], 0.001)
    sdk = max(result["sdk_floor_p50_ms"], 0.001)
    result["search_over_sdk_floor"] = round(result["mcp_search_p50_ms"] / sdk, 2)
    result["search_minus_sdk_floor_ms"] = round(result["mcp_search_p50_ms"] - sdk, 3)
    for tool in ("search", "get", "resolve"):
        result[f"{tool}_cli_over_mcp"] = round(
            result[f"cli_{tool}_p50_ms"] / max(result[f"mcp_{tool}_p50_ms"], 0.001), 1
        )
        for side in ("mcp", "cli"):  # x the do-nothing interpreter of the same rounds
            result[f"{side}_{tool}_over_python_pass"] = round(
                result[f"{side}_{tool}_p50_ms"] / base, 2
            )
    result["budget"] = {
        "search_p50_ms": 15,
        "search_p95_ms": 40,
        "get_p50_ms": 20,
        "resolve_p50_ms": 20,
        "cli_over_mcp": 5,
    }
    emit(result)


if __name__ == "__main__":
    main()
