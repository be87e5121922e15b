"""``trifecta mcp``: serve the segment's tools over MCP (stdio, or streamable HTTP)."""

from __future__ import annotations

import argparse
import os
import sys

from trifecta.adapters.cli.output import flags_from
from trifecta.application.settings import MCP_MIN_TOKENS
from trifecta.domain.errors import TrifectaError, UsageError


class MissingExtra(TrifectaError):
    """The optional ``mcp`` extra is not installed."""


def run_mcp(ns: argparse.Namespace) -> int:
    if ns.max_tokens is not None and ns.max_tokens < MCP_MIN_TOKENS:
        raise UsageError(f"--max-tokens must be at least {MCP_MIN_TOKENS}")
    if ns.transport == "http" and not 0 < ns.port < 65536:
        raise UsageError("--port must be between 1 and 65535")
    try:
        from trifecta.adapters.mcp.run import serve
    except ImportError as e:
        if "mcp" not in str(e):
            raise
        raise MissingExtra(
            "the MCP server needs the mcp extra: pip install 'trifecta[mcp]'"
        ) from None
    if ns.transport == "http":
        sys.stderr.write(f"trifecta: MCP server on http://{ns.host}:{ns.port}/mcp\n")
    flags = flags_from(ns)
    if ns.max_tokens is not None:
        flags["mcp"] = {"max_tokens": ns.max_tokens}
    serve(
        os.path.abspath(ns.segment),
        flags,
        transport=ns.transport,
        host=ns.host,
        port=ns.port,
        warm_lsp=not ns.no_lsp,
        config=ns.config,
    )
    return 0
