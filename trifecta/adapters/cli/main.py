"""Entry point: parse, dispatch to a lazily imported handler, map errors to exit codes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

# (group, command) -> "module:function"; imported only when that command runs.
HANDLERS: dict[tuple[str, str], str] = {
    ("ctx", "build"): "trifecta.adapters.cli.commands.ctx:run_build",
    ("ctx", "sync"): "trifecta.adapters.cli.commands.ctx:run_sync",
    ("ctx", "search"): "trifecta.adapters.cli.commands.ctx:run_search",
    ("ctx", "get"): "trifecta.adapters.cli.commands.ctx:run_get",
    ("ctx", "validate"): "trifecta.adapters.cli.commands.ctx:run_validate",
    ("ctx", "stats"): "trifecta.adapters.cli.commands.ctx:run_stats",
    ("ast", "skeleton"): "trifecta.adapters.cli.commands.skeleton:run_skeleton",
    ("ast", "symbols"): "trifecta.adapters.cli.commands.skeleton:run_symbols",
    ("ast", "resolve"): "trifecta.adapters.cli.commands.symbols:run_resolve",
    ("ast", "definition"): "trifecta.adapters.cli.commands.symbols:run_definition",
    ("lsp", "start"): "trifecta.adapters.cli.commands.lsp:run_start",
    ("lsp", "status"): "trifecta.adapters.cli.commands.lsp:run_status",
    ("lsp", "stop"): "trifecta.adapters.cli.commands.lsp:run_stop",
    ("lsp", "serve"): "trifecta.adapters.cli.commands.lsp:run_serve",
    ("telemetry", "summary"): "trifecta.adapters.cli.commands.telemetry:run_summary",
    ("telemetry", "export"): "trifecta.adapters.cli.commands.telemetry:run_export",
    ("mcp", "serve"): "trifecta.adapters.cli.commands.mcp:run_mcp",
}

GLOBAL_DEFAULTS = {"segment": ".", "json": False, "telemetry": None, "debug": False}


def _handler(group: str, command: str) -> Callable[[argparse.Namespace], int]:
    import importlib

    module_name, _, func = HANDLERS[(group, command)].partition(":")
    module = importlib.import_module(module_name)
    handler: Callable[[argparse.Namespace], int] = getattr(module, func)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:  # the fast path: no parser, no container
        from trifecta._version import __version__

        sys.stdout.write(f"trifecta {__version__}\n")
        return 0
    from pathlib import Path

    from trifecta.adapters.cli.parser import PROG, build_parser, group_of
    from trifecta.domain.errors import TrifectaError, UsageError

    parser = build_parser(group_of(args))
    ns = parser.parse_args(args)
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(ns, key):
            setattr(ns, key, value)
    try:
        if not Path(ns.segment).is_dir():
            raise UsageError(f"segment {ns.segment!r} is not a directory")
        return _handler(ns.group, ns.command)(ns)
    except TrifectaError as e:
        from trifecta.adapters.cli.hints import message_for

        message = message_for(e, ns)
        sys.stderr.write(f"{PROG}: error: {message}\n")
        if ns.debug:
            raise
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: error: interrupted\n")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # the last line of defence: one line, never a traceback
        if ns.debug:
            raise
        sys.stderr.write(
            f"{PROG}: error: internal error: {type(e).__name__}: {e} (rerun with --debug)\n"
        )
        return 1


def entry() -> None:
    raise SystemExit(main())
