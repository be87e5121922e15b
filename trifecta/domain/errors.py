"""One error root and a small tree under it.

Every error the tool can report to a user is a ``TrifectaError``. Each class carries the
process exit code the CLI maps it to: 2 for usage errors (the caller asked for something
malformed), 1 for runtime failures (the world was not as needed).
"""

from __future__ import annotations


class TrifectaError(Exception):
    """Root of every error trifecta raises on purpose."""

    exit_code: int = 1


class UsageError(TrifectaError):
    """The request itself is malformed (bad flag value, malformed selector)."""

    exit_code = 2


class InvalidRequest(UsageError):
    """A request field has a value the use case cannot serve. The message names the field
    (``limit``, ``ids``, ...), never a CLI flag: the CLI translates ``field`` into its flag."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


class SelectorError(UsageError):
    """A symbol selector does not follow the grammar."""


class ConfigError(UsageError):
    """A configuration value or file is invalid."""


class InputError(TrifectaError):
    """A file or path given to us cannot be served."""


class PathOutsideSegment(InputError):
    """The path (or the target of a symlink) lies outside the segment."""


class FileMissing(InputError):
    """The file does not exist."""


class BinaryFile(InputError):
    """The file looks binary and is refused."""


class FileTooLarge(InputError):
    """The file is larger than the configured cap."""


class NotPython(InputError):
    """A file named for a Python-only operation is not Python source (.py/.pyi)."""


class FileRefused(InputError):
    """A file found while listing a directory was refused (symlink leaving the segment,
    over the size cap, not a regular file); the message says why."""


class ParseFailed(TrifectaError):
    """A parser could not parse the source (e.g. a syntax error for ``ast``)."""


class PackError(TrifectaError):
    """The context pack is missing, corrupt or inconsistent."""


class PackMissing(PackError):
    """No context pack has been built for this segment."""


class PackCorrupt(PackError):
    """The context pack or its index cannot be read."""


class IndexWriteFailed(PackError):
    """The search index could not be written; the previous pack and index are kept."""


class PackWriteFailed(PackError):
    """The pack could not be written (disk full, I/O error); the previous pack is kept."""


class ReadOnlyState(PackError):
    """The segment's ``_ctx`` cannot be written (read-only mount, permissions): a pack there
    can be read, not built."""


class UnknownChunks(PackError):
    """Some requested chunk ids are not in the pack."""


class LockTimeout(TrifectaError):
    """A lock could not be taken within its bounded wait."""


class LanguageServerError(TrifectaError):
    """The language server is unavailable, crashed, or failed a request."""


class LanguageServerUnavailable(LanguageServerError):
    """The language server binary is missing or the process could not start."""


class LanguageServerTimeout(LanguageServerError):
    """A request passed its deadline."""


# ---- symbols: more language-server failure modes (the fallback policy maps each to a reason)


class LanguageServerCold(LanguageServerUnavailable):
    """No warm language server is running for this segment yet; ``starting`` says whether
    one is on its way (launched by this call), i.e. whether waiting can help."""

    def __init__(self, message: str = "", starting: bool = False) -> None:
        super().__init__(message)
        self.starting = starting


class LanguageServerCrashed(LanguageServerError):
    """The language server process died or closed its pipes mid-session."""


class LanguageServerNotReady(LanguageServerError):
    """The server has not finished scanning the workspace; its (empty) answer is not believed."""


class SymbolNotFound(TrifectaError):
    """A selector or position resolved to nothing."""


class ModuleMissing(SymbolNotFound):
    """A selector names a module that is not in the segment."""


class PositionOutOfRange(InputError):
    """A ``FILE:LINE:COL`` past the end of the file or of the line."""


class TelemetryError(TrifectaError):
    """Telemetry was used wrongly (e.g. an extra field overwriting a core key)."""
