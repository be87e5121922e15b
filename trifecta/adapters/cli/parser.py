"""The argument parser: every command and flag, declared in one place (cheap to import)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from trifecta._version import __version__

PROG = "trifecta"


class _DescribedSubParsers(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose ``--help`` opens with the one-line summary given as ``help``."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if "help" in kwargs and "description" not in kwargs:
            kwargs["description"] = kwargs["help"]
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser


class OneLineParser(argparse.ArgumentParser):
    """Usage errors print one line, ``trifecta: error: ...``, and exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _DescribedSubParsers)

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        sys.stderr.write(f"{PROG}: error: {message}{hint}\n")
        raise SystemExit(2)


def bounded_int(high: int, low: int | None = None) -> Any:
    """An argparse ``type``: an integer no larger than ``high`` (and, given ``low``, no
    smaller): anything else is a usage error (exit 2) naming the value, never an overflow
    further in. Lower bounds with a meaning of their own (``--limit`` at least 1) are left
    to the use case, which records the failed request."""

    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 30 else None
        except ValueError:
            value = None
        if value is None or value > high or (low is not None and value < low):
            span = f"from {low} to {high}" if low is not None else f"up to {high}"
            raise argparse.ArgumentTypeError(
                f"invalid value {text[:40]!r}: expected an integer {span}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def _common() -> OneLineParser:
    # SUPPRESS defaults so the flags may appear before or after the subcommand.
    common = OneLineParser(add_help=False)
    common.add_argument(
        "--segment",
        "-s",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the segment (directory) to work on (default: the current directory)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print machine-readable JSON instead of text",
    )
    common.add_argument(
        "--telemetry",
        choices=("off", "lite", "full"),
        default=argparse.SUPPRESS,
        help="telemetry level for this call (overrides TRIFECTA_TELEMETRY and the config file)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show a traceback on unexpected errors",
    )
    return common


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per core) or more, got {jobs}")
    return jobs


def _lsp_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--timeout-ms",
        type=bounded_int(3_600_000, low=1),
        default=None,
        help="deadline of each language-server request (default: setting lsp.timeout_ms, 500)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--require-lsp",
        action="store_true",
        help="fail (exit 1) instead of falling back when pyright cannot answer",
    )
    group.add_argument(
        "--no-lsp",
        action="store_true",
        help="do not use pyright: answer from the Tree-sitter/ast index only",
    )


GROUPS = ("ctx", "ast", "lsp", "telemetry", "mcp")
_VALUED = ("--segment", "-s", "--telemetry")  # common flags that take the next token


def group_of(args: list[str]) -> str | None:
    """The command group named in ``args`` (skipping the values of common flags), or None."""

    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif arg in GROUPS:
            return arg
        elif not arg.startswith("-"):
            return None
    return None


def build_parser(only: str | None = None) -> OneLineParser:
    """Every group; the commands of ``only`` (a group name) or, when None, of all groups.
    A call declares only its own group's commands (~half of the parser's build time)."""

    common = _common()
    parser = OneLineParser(
        prog=PROG,
        parents=[common],
        description=(
            "trifecta: a context layer for AI coding agents. Build a context pack for a "
            "segment (a directory), search it and get chunks within a token budget, read "
            "code skeletons, resolve symbols through pyright with a Tree-sitter fallback, "
            "and query the telemetry every step records."
        ),
        epilog="Exit codes: 0 success, 1 runtime failure, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", parser_class=OneLineParser)
    groups.required = True

    # ---- ctx ---------------------------------------------------------------------------
    ctx = groups.add_parser("ctx", help="context packs: build, sync, search, get, validate, stats")
    ctx_cmds = ctx.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    ctx_cmds.required = True
    if only in (None, "ctx"):
        build = ctx_cmds.add_parser(
            "build", parents=[common], help="build the context pack from scratch"
        )
        sync = ctx_cmds.add_parser(
            "sync",
            parents=[common],
            help="update the pack incrementally: only files whose size or mtime moved are re-read",
        )
        for p in (build, sync):
            p.add_argument(
                "--jobs",
                "-j",
                type=_jobs,
                default=None,
                metavar="N",
                help="worker processes cutting files (default: build.jobs, 0 = one per core; "
                "1 = in this process)",
            )
            p.add_argument(
                "--quiet",
                action="store_true",
                help="no progress line on stderr (it is shown only on a terminal anyway)",
            )
        search = ctx_cmds.add_parser("search", parents=[common], help="ranked search over the pack")
        search.add_argument("--query", "-q", required=True, help="what to look for")
        search.add_argument(
            "--limit",
            "-l",
            type=bounded_int(10_000),
            default=None,
            help="hits to return (default: setting search.limit, 5)",
        )
        search.add_argument("--sync", action="store_true", help="refresh a stale pack first")
        search.add_argument(
            "--files",
            action="store_true",
            help="rank files instead of chunks: LIMIT distinct files, each with its best chunks",
        )
        get = ctx_cmds.add_parser(
            "get", parents=[common], help="chunks by id within a token budget"
        )
        get.add_argument("--ids", "-i", required=True, help="comma-separated chunk ids")
        get.add_argument(
            "--mode",
            "-m",
            choices=("raw", "excerpt", "skeleton"),
            default="excerpt",
            help="disclosure level (default excerpt); over budget degrades raw->excerpt->skeleton",
        )
        get.add_argument(
            "--budget-token-est",
            "-b",
            type=bounded_int(1_000_000_000),
            default=None,
            help="token budget, characters/4 (default: setting get.budget_token_est, 1500)",
        )
        get.add_argument(
            "--max-chunks",
            type=bounded_int(1_000_000),
            default=None,
            help="stop after this many chunks (default: setting get.max_chunks, 20)",
        )
        get.add_argument(
            "--stop-on-evidence",
            action="store_true",
            help="stop once a chunk contains the --query terms",
        )
        get.add_argument(
            "--query", "-q", default=None, help="centre excerpts on this query's first match"
        )
        get.add_argument(
            "--pd-report", action="store_true", help="print a progressive-disclosure report line"
        )
        get.add_argument("--sync", action="store_true", help="refresh a stale pack first")
        ctx_cmds.add_parser(
            "validate", parents=[common], help="check schema, hashes, missing and new files, index"
        )
        ctx_cmds.add_parser("stats", parents=[common], help="pack facts and usage from telemetry")

    # ---- ast ---------------------------------------------------------------------------
    ast = groups.add_parser("ast", help="skeletons and symbols")
    ast_cmds = ast.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    ast_cmds.required = True
    if only in (None, "ast"):
        skel = ast_cmds.add_parser(
            "skeleton", parents=[common], help="signatures without bodies, for files or directories"
        )
        skel.add_argument("paths", nargs="+", metavar="PATH")
        skel.add_argument(
            "--no-lines", action="store_true", help="omit line numbers in text output"
        )
        symbols = ast_cmds.add_parser(
            "symbols",
            parents=[common],
            help="symbols of a module: sym://python/mod/pkg.mod[#Member]",
        )
        symbols.add_argument("selector", metavar="SELECTOR")
        resolve = ast_cmds.add_parser(
            "resolve",
            parents=[common],
            help="definition of sym://python/mod/pkg.mod#Name or pkg.mod:Name",
        )
        resolve.add_argument("selector", metavar="SELECTOR")
        _lsp_flags(resolve)
        definition = ast_cmds.add_parser(
            "definition", parents=[common], help="definition of the identifier at FILE:LINE:COL"
        )
        definition.add_argument("position", metavar="FILE:LINE:COL")
        _lsp_flags(definition)

    # ---- lsp ---------------------------------------------------------------------------
    lsp = groups.add_parser("lsp", help="the warm background pyright server of a segment")
    lsp_cmds = lsp.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    lsp_cmds.required = True
    if only in (None, "lsp"):
        lsp_cmds.add_parser("start", parents=[common], help="start the background server")
        lsp_cmds.add_parser(
            "status", parents=[common], help="is it running, ready, idle for how long"
        )
        lsp_cmds.add_parser("stop", parents=[common], help="stop it and its pyright process")
        serve = lsp_cmds.add_parser(
            "serve", parents=[common], help="run the server in the foreground (used by start)"
        )
        serve.add_argument("--idle-timeout-s", type=bounded_int(10_000_000, low=1), default=None)

    # ---- telemetry ---------------------------------------------------------------------
    tel = groups.add_parser("telemetry", help="read what every command recorded")
    tel_cmds = tel.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    tel_cmds.required = True
    if only in (None, "telemetry"):
        tel_cmds.add_parser(
            "summary", parents=[common], help="per-command latency, counters, health, over all runs"
        )
        export = tel_cmds.add_parser(
            "export",
            parents=[common],
            help="send the stored events to an OTLP/HTTP collector (trifecta[otel])",
        )
        export.add_argument("--otlp", required=True, metavar="URL", help="the collector's base URL")
        export.add_argument(
            "--since", default=None, metavar="TIME", help="only events at or after (ISO 8601)"
        )
        export.add_argument("--timeout-ms", type=int, default=10_000, metavar="MS")

    # ---- mcp ---------------------------------------------------------------------------
    mcp = groups.add_parser(
        "mcp",
        parents=[common],
        help="serve this segment's tools to coding agents over MCP (needs trifecta[mcp])",
    )
    mcp.set_defaults(command="serve")
    mcp.add_argument(
        "--transport", choices=("stdio", "http"), default="stdio", help="default stdio"
    )
    mcp.add_argument("--host", default="127.0.0.1", help="http only (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8765, help="http only (default 8765)")
    mcp.add_argument(
        "--max-tokens",
        type=int,
        default=20_000,
        help="bound of every tool answer, characters/4 (default 20000)",
    )
    mcp.add_argument(
        "--no-lsp", action="store_true", help="do not start pyright: the index answers symbols"
    )
    return parser
