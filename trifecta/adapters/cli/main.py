"""Entry point: parse, find the segment, run the command's handler (imported lazily), map
errors to exit codes (and, under ``--json``, to an ``{"error": ...}`` document)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence


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
        if not given.is_dir():
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


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args in (["--version"], ["-V"]):  # the fast path: no parser, no container
        from trifecta._version import __version__

        sys.stdout.write(f"trifecta {__version__}\n")
        return 0
    from trifecta.adapters.cli.parser import GLOBAL_DEFAULTS, JSON_ERRORS, build_parser, group_of

    group = group_of(args)
    args = _help_alias(args, group)
    JSON_ERRORS["on"] = "--json" in args
    # only the named group's commands are declared; none for `trifecta --help`
    parser = build_parser(group_of(args) or "")
    ns = parser.parse_args(args)
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(ns, key):
            setattr(ns, key, value)

    from trifecta.adapters.cli.output import fail
    from trifecta.domain.errors import TrifectaError

    try:
        _segment(ns)
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
        if ns.debug:
            raise
        message = f"internal error: {type(e).__name__}: {e}"
        return fail(ns, "InternalError", message, "rerun with --debug", 1)


def entry() -> None:
    raise SystemExit(main())
