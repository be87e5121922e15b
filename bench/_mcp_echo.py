"""A do-nothing MCP server built on the SDK alone, for ``bench.mcp``'s transport floor: one
tool that answers a canned copy of a real search answer (the JSON file given as the first
argument; the nested hits as the SDK validates, serialises and parses them), so a round
trip to it costs what the SDK and the stdio pipes cost for such an answer, and nothing of
ours.

Run: python -m bench._mcp_echo ANSWER.json (stdio).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer

server: MCPServer[Any] = MCPServer("echo", log_level="WARNING")
ANSWER: dict[str, Any] = {}


@server.tool(description="The canned answer (a transport floor).")
async def echo() -> dict[str, Any]:
    return ANSWER


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        ANSWER.update(json.load(handle))
    server.run("stdio")
