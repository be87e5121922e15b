"""Run the server until the client goes: stdin EOF (stdio), SIGTERM/SIGHUP, or Ctrl-C; then
shut pyright down, flush telemetry and exit, leaving no process behind."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from trifecta.adapters.mcp.server import build_server
from trifecta.adapters.mcp.service import SegmentService, segment_flags
from trifecta.api import Segment


def _merge(flags: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in segment_flags().items()}
    for key, value in flags.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def serve(
    segment: str | Path,
    flags: Mapping[str, Any],
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    warm_lsp: bool = True,
    config: str | Path | None = None,
) -> None:
    """Serve ``segment`` until the client goes. Every answer is bounded by the setting
    ``mcp.max_tokens`` (``--max-tokens`` is its flag)."""

    settings = _merge(flags)
    if not warm_lsp:
        settings["lsp"]["enabled"] = False
    seg = Segment(segment, settings, config=config)
    max_tokens = int(seg.settings["mcp"]["max_tokens"])
    service = SegmentService(seg, max_tokens, warm_lsp=warm_lsp)
    server = build_server(service)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shut down on a thread with a deadline; whatever is left dies with us (pyright
        # has a parent-death signal), so exit without waiting for stuck threads
        closer = threading.Thread(target=service.close, daemon=True)
        closer.start()
        closer.join(6.0)
        os._exit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)
    try:
        if transport == "http":
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
        sys.stderr.flush()
