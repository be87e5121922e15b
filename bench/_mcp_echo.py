"""A do-nothing MCP server built on the SDK alone, for ``bench.mcp``'s transport floor: one
tool that answers ``size`` characters of structured content, so a round trip to it costs
what the SDK and the stdio pipes cost for an answer of that size, and nothing of ours.

Run: python -m bench._mcp_echo (stdio).
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

server: MCPServer[Any] = MCPServer("echo", log_level="WARNING")


@server.tool(description="An answer of `size` characters (a transport floor).")
async def echo(size: int = 0) -> dict[str, Any]:
    return {"data": "x" * max(0, size)}


if __name__ == "__main__":
    server.run("stdio")
