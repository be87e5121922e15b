"""Entry point: parse, find the segment, run the command's handler (imported lazily), map
errors to exit codes (and, under ``--json``, to an ``{"error": ...}`` document)."""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # not ``typing``'s: a served search never needs the module
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any


# Parsers kept between calls by a process that runs many (the search server sets it to {}).
PARSERS: dict[str, Any] | None = None


def _handler(spec: str) -> Callable[[argparse.Namespace], int]:
    import importlib

    module_name, _, func = spec.partition(":")
    module = importlib.import_module(module_name)
    handler: Callable[[argparse.Namespace], int] = getattr(module, func)
    return handler


def _help_alias(args: list[str], group: str | None) -> list[str]:
    """``trifecta help ctx search`` is ``trifecta ctx search --help``."""

    if group != "help":
        return args
    i = args.index("help")
    return [*args[:i], *args[i + 1 :], "--help"]


def _segment(ns: argparse.Namespace) -> None:
    """Set ``ns.segment`` (absolute) and say how it was chosen under ``--verbose``."""

    from pathlib import Path

    from trifecta.domain.errors import UsageError

    if ns.segment is not None:
        given = Path(ns.segment)
        try:
            is_dir = given.is_dir()
        except OSError as e:  # ENAMETOOLONG and the like
            raise UsageError(f"segment: {e.strerror or type(e).__name__}") from e
        if not is_dir:
            raise UsageError(f"segment {ns.segment!r} is not a directory")
        root, how = given.absolute(), "--segment"
    else:
        from trifecta.api import find_segment

        root, how = find_segment(Path.cwd())
    ns.segment = str(root)
    if ns.verbose:
        reasons = {
            "--segment": "given by --segment",
            "_ctx": "the nearest directory upwards holding a built _ctx/",
            "git": "no _ctx/ upwards: the git work-tree root",
            "cwd": "no _ctx/ upwards, not in a git work tree: the current directory",
        }
        sys.stderr.write(f"trifecta: segment: {root} ({reasons[how]})\n")
        if ns.config is not None:
            sys.stderr.write(f"trifecta: config: {ns.config}\n")


_CTX = ("build", "sync", "search", "get", "validate", "stats")


def _record_rejected(argv: Sequence[str]) -> None:
    """A ``ctx`` command whose flags the parser rejected still records its one command
    event (``{"status": "error", "error": "UsageError"}``, no arguments), as every failing
    ``ctx`` command does (docs/telemetry.md). Best effort: never fails the exit."""

    commands = [
        argv[i + 1] for i in range(len(argv) - 1) if argv[i] == "ctx" and argv[i + 1] in _CTX
    ]
    if not commands:
        return
    segment, level = None, None
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

        if level == "off":
            return
        if segment is None:
            from trifecta.api import find_segment

            segment = str(find_segment(Path.cwd())[0])
        if not Path(segment).is_dir():
            return
        from trifecta.telemetry_api import Telemetry

        command = commands[0]
        telemetry = Telemetry(segment, level=level if level in ("lite", "full") else None)
        telemetry.event(f"ctx.{command}", {}, {"status": "error", "error": "UsageError"}, 0)
        telemetry.incr(f"ctx_{command}_error_count")
        telemetry.flush()
    except Exception:  # telemetry never changes how a usage error ends
        return


# dest -> the metavar of a positional argument (the rest are --flags).
_POSITIONAL = {
    "query_arg": "QUERY",
    "id_args": "ID",
    "paths": "PATH",
    "selector": "SELECTOR",
    "position": "FILE:LINE:COL",
    "topic": "COMMAND",
}


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
                    name = _POSITIONAL.get(key, "--" + key.replace("_", "-"))
                    raise UsageError(f"{name} {shown!r}: not valid UTF-8") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. A command is a short process: the cyclic garbage collector is
    paused while it runs (its passes took 6-15 ms of a search, more as the rows read grow,
    and free little that exiting would not; docs/performance.md) and restored afterwards;
    the long-lived ones (servers) run with it."""

    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(sys.argv[1:] if argv is None else list(argv), collecting)
    finally:
        if collecting:
            gc.enable()


def _main(args: list[str], collecting: bool) -> int:
    if args in (["--version"], ["-V"]):  # the fast path: no parser, no container
        from trifecta._version import __version__

        sys.stdout.write(f"trifecta {__version__}\n")
        return 0
    if "ctx" in args and ("search" in args or "get" in args):
        from trifecta.adapters.cli.forward import forward

        served = forward(args)  # the segment's search server answers, when one runs
        if served is not None:
            return served
    from trifecta.adapters.cli.parser import (
        GLOBAL_DEFAULTS,
        JSON_ERRORS,
        LONG_LIVED,
        build_parser,
        group_of,
    )

    group = group_of(args)
    args = _help_alias(args, group)
    JSON_ERRORS["on"] = "--json" in args
    # only the named group's commands are declared; none for `trifecta --help`
    only = group_of(args) or ""
    parser = PARSERS.get(only) if PARSERS is not None else None
    if parser is None:
        parser = build_parser(only)
        if PARSERS is not None:
            PARSERS[only] = parser
    try:
        ns = parser.parse_args(args)
    except SystemExit as e:
        if e.code == 2 and not _serving():  # a search server declines it: the client records
            _record_rejected(args)
        raise
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(ns, key):
            setattr(ns, key, value)

    from trifecta.adapters.cli.output import fail
    from trifecta.domain.errors import TrifectaError

    try:
        _check_utf8(ns)
        _segment(ns)
        if collecting and ns.handler in LONG_LIVED:
            gc.enable()
        return _handler(ns.handler)(ns)
    except TrifectaError as e:
        from trifecta.adapters.cli.hints import hint_for, line_for, message_for

        message, hint = message_for(e, ns), hint_for(e, ns)
        code = fail(ns, type(e).__name__, message, hint, e.exit_code, line_for(e, ns))
        if ns.debug:
            raise
        return code
    except KeyboardInterrupt:
        return fail(ns, "KeyboardInterrupt", "interrupted", None, 130)
    except BrokenPipeError:
        return 1
    except Exception as e:  # the last line of defence: one line, never a traceback
        # A search server declines it (and stops: its state may be broken), but for text the
        # caller's terminal cannot encode: that answer is the caller's own, given here.
        if ns.debug or (_serving() and not isinstance(e, UnicodeEncodeError)):
            raise
        message = f"internal error: {type(e).__name__}: {e}"
        return fail(ns, "InternalError", message, "rerun with --debug", 1)


def _serving() -> bool:
    """Is this a search server running a forwarded command (its segment lent to it)?"""

    from trifecta.adapters.cli import output

    return output.LENDER is not None


def entry() -> None:
    raise SystemExit(main())
