"""The MCP server: a driving adapter like the CLI, on one ``api.Segment`` (docs/mcp.md).
Imported only by ``trifecta mcp`` (the SDK is the optional extra ``trifecta[mcp]``)."""
