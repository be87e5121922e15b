"""Error messages as the CLI prints them: inner layers name request fields and say what
went wrong; the CLI names its own flags and commands (the remedy a shell user can type)."""

from __future__ import annotations

import argparse

from trifecta.domain.errors import (
    InvalidRequest,
    LanguageServerCold,
    LanguageServerError,
    TrifectaError,
)

# request field -> the flag that sets it
FLAGS: dict[str, str] = {
    "ids": "--ids",
    "limit": "--limit",
    "budget_token_est": "--budget-token-est",
    "max_chunks": "--max-chunks",
    "timeout_ms": "--timeout-ms",
}


def message_for(error: TrifectaError, ns: argparse.Namespace) -> str:
    """The one line printed after ``trifecta: error:``."""

    if isinstance(error, InvalidRequest):
        return f"{FLAGS.get(error.field, error.field)} {error.reason}"
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, LanguageServerCold) and getattr(ns, "require_lsp", False):
        return f"{message}; run `trifecta lsp start`"
    if isinstance(error, LanguageServerError) and getattr(ns, "require_lsp", False):
        return f"{message}; rerun without --require-lsp to use the fallback"
    return message
