"""The model: frozen value classes (records) shared by every layer.

Paths in the model are always segment-relative POSIX strings (``src/pkg/mod.py``); lines and
columns are 1-based, as editors show them.
"""

from __future__ import annotations

from enum import StrEnum

from trifecta.domain.records import record


class ReadMode(StrEnum):
    """Progressive disclosure levels, smallest first."""

    SKELETON = "skeleton"
    EXCERPT = "excerpt"
    RAW = "raw"


# ---- files -------------------------------------------------------------------------------


@record
class FileEntry:
    """A file of the segment as listed (no content read)."""

    path: str
    size: int
    mtime_ns: int


@record
class FileText:
    """The decoded text of a segment file and what reading it cost.

    ``lossy`` is true when the bytes were not valid UTF-8 and were decoded with replacement.
    """

    path: str
    text: str
    size_bytes: int
    sha256: str
    lossy: bool = False


@record
class SkippedFile:
    """A file the listing saw and refused, with a one-line reason."""

    path: str
    reason: str


# ---- skeletons ---------------------------------------------------------------------------

SKELETON_KINDS = ("constant", "class", "function", "method")


@record
class SkeletonEntry:
    """One definition: kind (constant|class|function|method), names, signature, lines.

    ``signature`` is the definition line as it would appear in a stub, without the body,
    e.g. ``async def fetch(self, url: str, *, timeout: float = 1.0) -> bytes`` or
    ``class Message(Base, metaclass=Meta)`` or ``MAX_SIZE = 10``.
    ``depth`` is the nesting level (0 for top level), used for indentation when rendering.
    """

    kind: str
    name: str
    qualname: str
    signature: str
    line_start: int
    line_end: int
    doc: str | None = None
    decorators: tuple[str, ...] = ()
    depth: int = 0


@record
class Skeleton:
    """The skeleton of one source file.

    ``partial`` is true when the file did not parse cleanly and the entries are what a
    tolerant parser could recover.
    """

    path: str
    parser: str
    partial: bool
    module_doc: str | None
    entries: tuple[SkeletonEntry, ...]
    source_bytes: int
    lossy: bool = False

    @property
    def classes(self) -> int:
        return sum(1 for e in self.entries if e.kind == "class")

    @property
    def functions(self) -> int:
        return sum(1 for e in self.entries if e.kind in ("function", "method"))


# ---- symbols -----------------------------------------------------------------------------


@record
class Selector:
    """A parsed symbol selector: a dotted module and an optional qualified member name."""

    module: str
    member: str | None = None
    kind: str = "mod"

    def __str__(self) -> str:
        base = f"sym://python/{self.kind}/{self.module}"
        return f"{base}#{self.member}" if self.member else base


EVIDENCE = {
    "lsp": "pyright's textDocument/definition or document symbols",
    "scope": "Python's scoping rules: a local, an enclosing function, a module global, a builtin",
    "import": "an import statement, followed into the module it names",
    "receiver": "an attribute looked up on a receiver of known class (self, cls, a class, an"
    " annotated or constructed value, super())",
    "name_only": "a definition with the same name somewhere in the segment (a guess)",
}
"""How an answer was found, most to least certain (``Resolution.evidence``)."""


@record
class SymbolLocation:
    """Where a symbol is defined.

    ``external`` locations lie outside the segment (the standard library, typeshed, an
    installed package, a file reached through a symlink leaving the segment): ``path`` is
    empty (never an absolute path), ``module`` names the module that defines it and
    ``qualname`` the definition inside it (``os`` / ``_Environ.update``); ``line`` and
    ``column`` are then positions in that module's source as the resolver saw it, or 0.
    ``related_lines`` are other lines of the same symbol in the same file: the ``@overload``
    stubs of an implementation, the setter/deleter of a property.
    """

    path: str
    line: int
    column: int
    end_line: int
    kind: str = "unknown"
    qualname: str | None = None
    external: bool = False
    module: str | None = None
    related_lines: tuple[int, ...] = ()


@record
class Resolution:
    """The answer to a symbol query and who gave it.

    ``resolved_by`` is ``lsp``, or for the index fallback the parser that built the answering
    entry (``ast`` or ``tree_sitter``); ``fallback_reason`` is None when the LSP answered,
    else one of the documented reasons (see docs/architecture.md). ``evidence`` says how the
    answer was found (``EVIDENCE``); a ``name_only`` answer is a guess by name and is always
    ``ambiguous``.
    """

    query: str
    matches: tuple[SymbolLocation, ...]
    resolved_by: str
    fallback_reason: str | None = None
    ambiguous: bool = False
    timing_ms: int = 0
    evidence: str | None = None

    @property
    def resolved(self) -> bool:
        return bool(self.matches)


@record
class LspFacts:
    """Lifecycle facts a language server reports (ms are measured from spawn)."""

    spawned: bool = False
    initialized: bool = False
    ready_via: str | None = None
    ready_ms: int | None = None
    scan_done: bool = False
    diagnostics_count: int = 0


# ---- telemetry ---------------------------------------------------------------------------

CORE_EVENT_KEYS = ("ts", "run_id", "segment", "cmd", "args", "result", "timing_ms", "warnings")


@record
class RepoState:
    """The git state of a segment, as put on every telemetry event.

    ``sha`` is the first 12 hex digits of HEAD (None outside git or before the first
    commit); ``dirty`` is True when tracked files differ from HEAD (None when unknown).
    """

    sha: str | None = None
    dirty: bool | None = None


def estimate_tokens(text: str) -> int:
    """The pack's named token estimator, ``chars/4``: ceil(len(text) / 4)."""

    return (len(text) + 3) // 4


TOKEN_ESTIMATOR = "chars/4"
