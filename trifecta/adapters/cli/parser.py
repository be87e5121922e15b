"""The argument parser: every command declared once, with its handler (cheap to import).

A command is one ``_Commands.add(...)`` call: its name, its handler (``module:function``,
imported only when the command runs), its help line and its own options. The global
options are added to every command afterwards, in a group of their own, so ``--help``
lists a command's options first."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from trifecta._version import __version__

PROG = "trifecta"
COLOR_CHOICES = ("auto", "always", "never")

# Set by ``main`` before parsing when ``--json`` is among the arguments: a usage error is
# then also printed as an ``{"error": ...}`` document on stdout.
JSON_ERRORS = {"on": False}


class _DescribedSubParsers(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose ``--help`` opens with the one-line summary given as ``help``."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if "help" in kwargs and "description" not in kwargs:
            kwargs["description"] = kwargs["help"]
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` without importing ``shutil`` (with ``bz2``,
    ``lzma``... ~1-3 ms of every command: argparse makes a help formatter for each
    argument it declares): ``COLUMNS`` when it is a positive number, else the width of
    the terminal on standard output, else 80."""

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, the width measured by ``terminal_columns`` (as argparse does,
    two columns narrower than the terminal)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors print one line, ``trifecta: error: ...``, and exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _DescribedSubParsers)

    def error(self, message: str) -> NoReturn:
        hint = f"see '{self.prog} --help'"
        if JSON_ERRORS["on"]:
            from trifecta.adapters.cli.output import error_document

            sys.stdout.write(error_document("UsageError", message, hint, 2) + "\n")
        sys.stderr.write(f"{PROG}: error: {message} ({hint})\n")
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


def add_global_options(p: argparse.ArgumentParser) -> None:
    """The options every command takes, before or after the command name (their defaults
    are SUPPRESSed so a later occurrence does not reset an earlier one)."""

    g = p.add_argument_group("global options")
    s = argparse.SUPPRESS
    g.add_argument(
        "--segment",
        "-s",
        metavar="DIR",
        default=s,
        help="the segment to work on (default: the nearest directory upwards holding _ctx/, "
        "else the git work-tree root, else the current directory)",
    )
    g.add_argument(
        "--config",
        metavar="FILE",
        default=s,
        help="a TOML settings file, read after pyproject.toml and _ctx/trifecta.toml",
    )
    g.add_argument(
        "--json", action="store_true", default=s, help="print machine-readable JSON instead of text"
    )
    g.add_argument(
        "--telemetry",
        choices=("off", "lite", "full"),
        metavar="LEVEL",
        default=s,
        help="telemetry level for this call: off, lite or full (overrides TRIFECTA_TELEMETRY "
        "and the config files)",
    )
    g.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        metavar="WHEN",
        default=s,
        help="colour in text output: auto (on a terminal, unless NO_COLOR is set), always, never",
    )
    g.add_argument(
        "--quiet",
        action="store_true",
        default=s,
        help="print no notes, warnings or progress line on stderr",
    )
    g.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        default=s,
        help="print the chosen segment and settings files on stderr",
    )
    g.add_argument(
        "--debug", action="store_true", default=s, help="show a traceback on unexpected errors"
    )


GLOBAL_DEFAULTS: dict[str, Any] = {
    "segment": None,
    "config": None,
    "json": False,
    "telemetry": None,
    "color": "auto",
    "quiet": False,
    "verbose": False,
    "debug": False,
}


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
        metavar="N",
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


class _Commands:
    """Declares groups and commands; remembers every parser so the global options can be
    added last (after each command's own)."""

    def __init__(self, root: OneLineParser) -> None:
        self.root = root
        self.parsers: list[argparse.ArgumentParser] = [root]
        self.tops = root.add_subparsers(
            dest="group",
            metavar="COMMAND",
            parser_class=OneLineParser,
            help="trifecta help COMMAND: its options",
        )
        self.tops.required = True

    def top(self, name: str, help: str, declared: bool = True) -> argparse.ArgumentParser:
        """A group; one not ``declared`` (its commands are not, this call never parses it)
        is only listed, without the global options either (~1 ms of a command's start)."""

        p: argparse.ArgumentParser = self.tops.add_parser(name, help=help)
        p.set_defaults(command=None)
        if declared:
            self.parsers.append(p)
        return p

    def subcommands(self, group: argparse.ArgumentParser) -> Any:
        subs = group.add_subparsers(
            dest="command", metavar="COMMAND", parser_class=OneLineParser, help="one of:"
        )
        subs.required = True
        return subs

    def add(self, subs: Any, name: str, handler: str, help: str) -> argparse.ArgumentParser:
        """One command: ``handler`` is ``module:function`` taking the namespace, -> exit code."""

        p: argparse.ArgumentParser = subs.add_parser(name, help=help)
        p.set_defaults(handler=handler)
        self.parsers.append(p)
        return p

    def finish(self) -> None:
        for p in self.parsers:
            add_global_options(p)


_CTX = "trifecta.adapters.cli.commands.ctx:"
_SKEL = "trifecta.adapters.cli.commands.skeleton:"
_SYM = "trifecta.adapters.cli.commands.symbols:"
_LSP = "trifecta.adapters.cli.commands.lsp:"
_TEL = "trifecta.adapters.cli.commands.telemetry:"
_MISC = "trifecta.adapters.cli.commands.misc:"
_MCP = "trifecta.adapters.cli.commands.mcp:"

# Handlers that serve until stopped: they run with the cyclic garbage collector on (every
# other command is a short process and runs without it; ``main``).
LONG_LIVED = frozenset({_LSP + "run_serve", _MCP + "run_mcp", _CTX + "run_serve"})


def _ctx(c: _Commands, group: argparse.ArgumentParser) -> None:
    subs = c.subcommands(group)
    build = c.add(subs, "build", _CTX + "run_build", "build the context pack from scratch")
    sync = c.add(
        subs,
        "sync",
        _CTX + "run_sync",
        "update the pack incrementally: only files whose size or mtime moved are re-read",
    )
    for p in (build, sync):
        p.add_argument(
            "--jobs",
            "-j",
            type=_jobs,
            default=None,
            metavar="N",
            help="worker processes cutting files (default: build.jobs, 0 = one per core; "
            "1 = in this process); the progress line on a terminal is silenced by --quiet",
        )
    search = c.add(subs, "search", _CTX + "run_search", "ranked search over the pack")
    search.add_argument("query_arg", nargs="?", metavar="QUERY", help="what to look for")
    search.add_argument(
        "--query", "-q", metavar="QUERY", default=None, help="what to look for (same as QUERY)"
    )
    search.add_argument(
        "--limit",
        "-l",
        type=bounded_int(10_000),
        default=None,
        metavar="N",
        help="hits to return (default: setting search.limit, 5)",
    )
    search.add_argument("--sync", action="store_true", help="refresh a stale pack first")
    search.add_argument(
        "--files",
        action="store_true",
        help="rank files instead of chunks: N distinct files, each with its best chunks",
    )
    get = c.add(subs, "get", _CTX + "run_get", "chunks by id within a token budget")
    get.add_argument("id_args", nargs="*", metavar="ID", help="chunk ids (as search prints them)")
    get.add_argument(
        "--ids",
        "-i",
        metavar="ID,ID",
        default=None,
        help="comma-separated chunk ids (same as ID...)",
    )
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
        metavar="TOKENS",
        help="token budget, characters/4 (default: setting get.budget_token_est, 1500)",
    )
    get.add_argument(
        "--max-chunks",
        type=bounded_int(1_000_000),
        default=None,
        metavar="N",
        help="stop after this many chunks (default: setting get.max_chunks, 20)",
    )
    get.add_argument(
        "--stop-on-evidence",
        action="store_true",
        help="stop once a chunk contains the --query terms",
    )
    get.add_argument(
        "--query",
        "-q",
        default=None,
        metavar="QUERY",
        help="centre excerpts on this query's first match",
    )
    get.add_argument(
        "--pd-report", action="store_true", help="print a progressive-disclosure report line"
    )
    get.add_argument("--sync", action="store_true", help="refresh a stale pack first")
    c.add(
        subs,
        "validate",
        _CTX + "run_validate",
        "check schema, hashes, missing and new files, index",
    )
    c.add(subs, "stats", _CTX + "run_stats", "pack facts and usage from telemetry")
    serve = c.add(
        subs,
        "serve",
        _CTX + "run_serve",
        "answer this segment's search and get from a process that stays (started in the "
        "background by search when search.server is auto)",
    )
    action = serve.add_mutually_exclusive_group()
    action.add_argument(
        "--status", action="store_true", help="is one running, for how long, how many calls"
    )
    action.add_argument("--stop", action="store_true", help="stop the running one")
    serve.add_argument(
        "--idle-timeout-s",
        type=bounded_int(10_000_000, low=1),
        default=None,
        metavar="N",
        help="exit after N seconds without calls (default: setting "
        "search.server_idle_timeout_s, 600)",
    )


def _ast(c: _Commands, group: argparse.ArgumentParser) -> None:
    subs = c.subcommands(group)
    skel = c.add(
        subs,
        "skeleton",
        _SKEL + "run_skeleton",
        "signatures without bodies, for files or directories",
    )
    skel.add_argument("paths", nargs="+", metavar="PATH", help="a .py/.pyi file or a directory")
    skel.add_argument("--no-lines", action="store_true", help="omit line numbers in text output")
    symbols = c.add(
        subs,
        "symbols",
        _SKEL + "run_symbols",
        "symbols of a module: sym://python/mod/pkg.mod[#Member]",
    )
    symbols.add_argument(
        "selector", metavar="SELECTOR", help="sym://python/mod/pkg.mod[#Member] or pkg.mod[:Name]"
    )
    resolve = c.add(
        subs,
        "resolve",
        _SYM + "run_resolve",
        "definition of sym://python/mod/pkg.mod#Name or pkg.mod:Name",
    )
    resolve.add_argument(
        "selector", metavar="SELECTOR", help="sym://python/mod/pkg.mod#Name, pkg.mod:Name"
    )
    _lsp_flags(resolve)
    definition = c.add(
        subs,
        "definition",
        _SYM + "run_definition",
        "definition of the identifier at FILE:LINE:COL",
    )
    definition.add_argument(
        "position", metavar="FILE:LINE:COL", help="a segment file, 1-based line and column"
    )
    _lsp_flags(definition)


def _lsp(c: _Commands, group: argparse.ArgumentParser) -> None:
    subs = c.subcommands(group)
    c.add(subs, "start", _LSP + "run_start", "start the background server")
    c.add(subs, "status", _LSP + "run_status", "is it running, ready, idle for how long")
    c.add(subs, "stop", _LSP + "run_stop", "stop it and its pyright process")
    serve = c.add(
        subs, "serve", _LSP + "run_serve", "run the server in the foreground (used by start)"
    )
    serve.add_argument(
        "--idle-timeout-s",
        type=bounded_int(10_000_000, low=1),
        default=None,
        metavar="N",
        help="exit after N seconds without requests (default: setting lsp.idle_timeout_s, 600)",
    )


def _telemetry(c: _Commands, group: argparse.ArgumentParser) -> None:
    subs = c.subcommands(group)
    c.add(
        subs,
        "summary",
        _TEL + "run_summary",
        "per-command latency, counters, health, over all runs",
    )
    export = c.add(
        subs,
        "export",
        _TEL + "run_export",
        "send the stored events to an OTLP/HTTP collector (trifecta[otel])",
    )
    export.add_argument("--otlp", required=True, metavar="URL", help="the collector's base URL")
    export.add_argument(
        "--since", default=None, metavar="TIME", help="only events at or after (ISO 8601)"
    )
    export.add_argument(
        "--timeout-ms",
        type=bounded_int(3_600_000, low=1),
        default=10_000,
        metavar="MS",
        help="deadline of each request to the collector (default 10000)",
    )


def _mcp(c: _Commands, p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=_MCP + "run_mcp", command="serve")
    p.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        metavar="KIND",
        help="stdio or http (default stdio)",
    )
    p.add_argument(
        "--host", default="127.0.0.1", metavar="ADDRESS", help="http only (default 127.0.0.1)"
    )
    p.add_argument("--port", type=int, default=8765, metavar="N", help="http only (default 8765)")
    p.add_argument(
        "--max-tokens",
        type=bounded_int(1_000_000_000),
        default=None,
        metavar="N",
        help="bound of every tool answer, characters/4 (default: setting mcp.max_tokens, 20000)",
    )
    p.add_argument(
        "--no-lsp", action="store_true", help="do not start pyright: the index answers symbols"
    )


def _completion(c: _Commands, p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=_MISC + "run_completion")
    p.add_argument(
        "shell", choices=("bash", "zsh", "fish"), metavar="SHELL", help="bash, zsh or fish"
    )


def _help(c: _Commands, p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=_MISC + "run_help")
    p.add_argument("topic", nargs="*", metavar="COMMAND", help="a command, e.g. ctx search")


# top-level name -> (help line, declaration). Adding a command group or a top-level command
# is one entry here; its declaration names each command's handler.
DECLARATIONS: dict[str, tuple[str, Callable[[_Commands, argparse.ArgumentParser], None]]] = {
    "ctx": ("context packs: build, sync, search, get, validate, stats", _ctx),
    "ast": ("skeletons and symbols", _ast),
    "lsp": ("the warm background pyright server of a segment", _lsp),
    "telemetry": ("read what every command recorded", _telemetry),
    "mcp": (
        "serve this segment's tools to coding agents over MCP (needs trifecta[mcp])",
        _mcp,
    ),
    "completion": ("print a shell completion script: bash, zsh or fish", _completion),
    "help": ("show the help of a command: trifecta help ctx search", _help),
}
GROUPS = tuple(DECLARATIONS)
_VALUED = ("--segment", "-s", "--telemetry", "--config", "--color")  # take the next token


def group_of(args: list[str]) -> str | None:
    """The command group named in ``args`` (skipping the values of global options), or None."""

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


def _translate_once() -> None:
    """argparse passes its own strings ("options", "show this help message and exit", ...)
    through ``gettext``, which looks for catalog files on disk on every call (a missing
    catalog is not remembered): ~40 look-ups, 2-5 ms, while a command's parser is built.
    The same string translates the same way within a process, so each is looked up once."""

    for name in ("_", "ngettext"):
        translate = getattr(argparse, name)
        if not hasattr(translate, "cache_info"):
            setattr(argparse, name, functools.lru_cache(maxsize=256)(translate))


def build_parser(only: str | None = None) -> OneLineParser:
    """Every group; the commands of ``only`` (a group name; ``""``: none, enough for the
    top-level ``--help``) or, when None, of all groups. A call declares only its own
    group's commands (most of the parser's build time)."""

    _translate_once()
    parser = OneLineParser(
        prog=PROG,
        description=(
            "trifecta: a context layer for AI coding agents. Build a context pack for a "
            "segment (a directory), search it and get chunks within a token budget, read "
            "code skeletons, resolve symbols through pyright with a Tree-sitter fallback, "
            "and query the telemetry every step records."
        ),
        epilog="Exit codes: 0 success, 1 runtime failure, 2 usage error. "
        "Run 'trifecta help COMMAND' for a command's options.",
    )
    parser.add_argument(
        "--version",
        "-V",
        action="version",
        version=f"{PROG} {__version__}",
        help="print the version",
    )
    c = _Commands(parser)
    for name, (summary, declare) in DECLARATIONS.items():
        declared = only in (None, name)  # the others are listed in --help, nothing more
        top = c.top(name, summary, declared)
        if declared:
            declare(c, top)
    c.finish()
    return parser
