"""Error messages as the CLI prints them: inner layers name request fields and say what
went wrong; the CLI names its own flags and commands (the remedy a shell user can type)."""

from __future__ import annotations

import argparse

from trifecta.domain.errors import (
    ConfigError,
    InvalidRequest,
    LanguageServerCold,
    LanguageServerError,
    PackError,
    PackMissing,
    TrifectaError,
)

_REMEDY = ", run "

# request field -> the flag that sets it
FLAGS: dict[str, str] = {
    "ids": "--ids",
    "query": "QUERY",
    "limit": "--limit",
    "budget_token_est": "--budget-token-est",
    "max_chunks": "--max-chunks",
    "timeout_ms": "--timeout-ms",
}


def message_for(error: TrifectaError, ns: argparse.Namespace) -> str:
    """The one line printed after ``trifecta: error:`` (without the hint)."""

    if isinstance(error, InvalidRequest):
        return f"{FLAGS.get(error.field, error.field)} {error.reason}"
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, PackError) and _REMEDY in message:  # the remedy goes to the hint
        return message.partition(_REMEDY)[0]
    return message


def line_for(error: TrifectaError, ns: argparse.Namespace) -> str | None:
    """The stderr line when it is not ``message; hint``: a pack error already names its
    remedy (``no context pack, run ctx build``)."""

    if isinstance(error, PackError) and _REMEDY in str(error):
        return str(error).splitlines()[0]
    return None


def hint_for(error: TrifectaError, ns: argparse.Namespace) -> str | None:
    """What to type next, when there is one (printed after the message; ``hint`` in JSON)."""

    if isinstance(error, LanguageServerCold) and getattr(ns, "require_lsp", False):
        return "run `trifecta lsp start`"
    if isinstance(error, LanguageServerError) and getattr(ns, "require_lsp", False):
        return "rerun without --require-lsp to use the fallback"
    message = str(error)
    if isinstance(error, PackError) and _REMEDY in message:
        return f"run `trifecta {message.partition(_REMEDY)[2].strip()}`"
    if isinstance(error, PackMissing):
        return "run `trifecta ctx build`"
    if isinstance(error, ConfigError):
        return "see docs/cli.md, Settings"
    return None
