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


def _record_rejected(argv: Sequence[str]) -> None:
    """A ``ctx`` command whose flags the parser rejected still records its one command
    event (``{"status": "error", "error": "UsageError"}``, no arguments), as every failing
    ``ctx`` command does (docs/telemetry.md). Best effort: never fails the exit."""

    commands = [
        argv[i + 1]
        for i in range(len(argv) - 1)
        if argv[i] == "ctx" and ("ctx", argv[i + 1]) in HANDLERS
    ]
    if not commands:
        return
    segment, level = ".", None
    for i, arg in enumerate(argv):
        for flag in ("--segment", "-s", "--telemetry"):
            value = None
            if arg == flag and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(flag + "="):
                value = arg.split("=", 1)[1]
            if value is not None and flag == "--telemetry":
                level = value
            elif value is not None:
                segment = value
    try:
        from pathlib import Path

        if level == "off" or not Path(segment).is_dir():
            return
        from trifecta.telemetry_api import Telemetry

        command = commands[0]
        telemetry = Telemetry(segment, level=level if level in ("lite", "full") else None)
        telemetry.event(f"ctx.{command}", {}, {"status": "error", "error": "UsageError"}, 0)
        telemetry.incr(f"ctx_{command}_error_count")
        telemetry.flush()
    except Exception:  # telemetry never changes how a usage error ends
        return


def _check_utf8(ns: argparse.Namespace) -> None:
    """An argument holding bytes that are not UTF-8 (Python keeps them as lone surrogates)
    is a usage error: it could name nothing in a pack, and no output could print it."""

    from trifecta.domain.errors import UsageError

    for key, value in vars(ns).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    shown = item.encode("utf-8", "surrogateescape").decode(
                        "utf-8", "backslashreplace"
                    )
                    raise UsageError(f"{key} {shown!r}: not valid UTF-8") from None


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
    try:
        ns = parser.parse_args(args)
    except SystemExit as e:
        if e.code == 2:
            _record_rejected(args)
        raise
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(ns, key):
            setattr(ns, key, value)
    try:
        _check_utf8(ns)
        try:
            is_dir = Path(ns.segment).is_dir()
        except OSError as e:  # ENAMETOOLONG and the like
            raise UsageError(f"segment: {e.strerror or type(e).__name__}") from e
        if not is_dir:
            raise UsageError(f"segment {ns.segment!r} is not a directory")
        return _handler(ns.group, ns.command)(ns)
    except TrifectaError as e:
        from trifecta.adapters.cli.hints import message_for
        from trifecta.adapters.cli.output import terminal_safe

        message = message_for(e, ns)
        sys.stderr.write(f"{PROG}: error: {terminal_safe(message)}\n")
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
