"""Python source-text helpers shared by every skeleton parser (pure, stdlib only).

Both skeleton parsers (stdlib ``ast`` and Tree-sitter) locate a definition by the position of
its keyword and then hand the *source text* to these functions, so the signatures they
produce are identical by construction (see docs/adr/0005-skeleton-signatures.md):

- ``prepare_source`` normalises line endings and drops a BOM, once, before parsing;
- ``LineIndex`` maps (1-based line, UTF-8 byte column), which both ``ast`` and Tree-sitter
  report, to an index into the ``str``;
- ``scan_header`` reads a ``def``/``class`` header up to its top-level colon, or a statement
  (a decorator, a constant) up to its top-level end of line, and returns it normalised:
  comments and line continuations dropped, whitespace outside string literals collapsed, no
  space inside brackets or before commas, one space after commas, and in a header a trailing
  comma before the closing parenthesis of the parameter list / bases dropped;
- a header whose brackets never close (a syntax error: ``def broken(:``) is read only to
  the end of its logical line (backslash continuations joined), with a trailing ``:``
  dropped, so the body never leaks into the signature;
- ``first_doc_line`` turns a docstring value into its first non-blank line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate

SCANNER_VERSION = "2"
"""Bump whenever what ``scan_header``/``first_doc_line`` return could change: it is part of
both parsers' versions, which key the skeleton cache."""

CONSTANT_NAME = re.compile(r"_*[A-Z][A-Z0-9_]*\Z")
"""Module-level names kept as constants (plus ``__all__``)."""

MAX_CONSTANT_CHARS = 100
"""Constant signatures longer than this keep their name/annotation and show ``= ...``
(``__all__`` is always kept whole: it is the module's public API)."""

_STRING = r"""(?:\"\"\"(?:[^\\]|\\.)*?\"\"\"|'''(?:[^\\]|\\.)*?'''
    |\"(?:[^\\\"\n]|\\.)*\"|'(?:[^\\'\n]|\\.)*')"""
# String prefixes (r, b, f, ...) are read as part of the preceding "other" run: they do not
# change where a literal ends, because a backslash escapes the quote even in raw strings.
_TOKEN = re.compile(
    rf"""
    (?P<str>{_STRING})
    |(?P<comment>\#[^\n]*)
    |(?P<cont>\\\n)
    |(?P<open>[(\[{{])
    |(?P<close>[)\]}}])
    |(?P<colon>:)
    |(?P<nl>[\n;])
    |(?P<other>[^\"'\#()\[\]{{}}:\n;\\]+|[\\\"'])
    """,
    re.VERBOSE | re.DOTALL,
)
_SPLIT_STRINGS = re.compile(f"({_STRING})", re.VERBOSE | re.DOTALL)
_SPACES = re.compile(r"\s+")
_PLAIN = r"[^\"'#\\;()]*"  # no strings, comments, continuations, statements, parentheses
_SIMPLE_HEADER = re.compile(
    rf"((?:async[ \t]+)?def[ \t]+\w+[ \t]*\({_PLAIN}\)(?:[ \t]*->[^\"'#\\;():\n]*)?"
    rf"|class[ \t]+\w+(?:[ \t]*\({_PLAIN}\))?)[ \t]*:"
)
_TRAILING_COMMA = re.compile(r",\s*\)")
_STATEMENT_SPECIAL = re.compile(r"[\"'#\\;]")
_NEEDS_TIDY = re.compile(r"\s\s|[^\S ]|[(\[{] | [)\]},]|,(?! )|^ | $")
_COMMAS = re.compile(r" ?, ?")
_INSIDE_OPEN = re.compile(r"([(\[{]) ")
_BEFORE_CLOSE = re.compile(r" ([)\]}])")


def prepare_source(source: str) -> str:
    """The text both parsers parse: ``\\r\\n`` and ``\\r`` become ``\\n``; a BOM is dropped."""

    if source.startswith("\ufeff"):
        source = source[1:]
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    return source


class LineIndex:
    """Maps 1-based lines and UTF-8 byte columns to ``str`` indices of one source text, and
    reads headers/statements at such positions (``read``)."""

    __slots__ = ("_lines", "_source", "_starts")

    def __init__(self, source: str) -> None:
        self._source = source
        self._lines = source.split("\n")
        self._starts: list[int] | None = None  # built on first need

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *accumulate(map((1).__add__, map(len, self._lines)))]
        return self._starts

    def offset(self, line: int, byte_col: int) -> int:
        start = self._line_starts()[line - 1]
        if byte_col == 0:
            return start
        text = self._lines[line - 1] if line <= len(self._lines) else ""
        if text.isascii():
            return start + byte_col
        return start + len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def line_of(self, offset: int) -> int:
        """The 1-based line holding ``offset``."""

        starts = self._line_starts()
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def read(self, line: int, byte_col: int, header: bool) -> tuple[str, int]:
        """``scan_header`` at (line, byte column): the normalised text and the 1-based line
        where it ends. Most definitions fit on their line and are read from it alone."""

        text = self._lines[line - 1] if line <= len(self._lines) else ""
        if text.isascii():
            fast = (_simple_header if header else _simple_statement)(text, byte_col)
            if fast is not None:
                return fast[0], line
        start = self.offset(line, byte_col)
        normalised, stop = scan_header(self._source, start, header)
        return normalised, self.line_of(max(start, stop - 1))

    def read_decorator(self, line: int, byte_col: int) -> str:
        """The decorator whose expression starts at (line, byte column), read from just
        after its ``@`` (the expression may start later, e.g. ``@ (x)``), without the ``@``."""

        start = self.offset(line, byte_col)
        at = self._source.rfind("@", 0, start + 1)
        return scan_header(self._source, at + 1, header=False)[0]


def scan_header(source: str, start: int, header: bool) -> tuple[str, int]:
    """Read from ``start`` to the top-level ``:`` (``header=True``: a def/class header) or
    to the top-level end of the statement (``header=False``). Return the normalised text
    and the index where the scan stopped (the colon / newline / semicolon / end of text).

    A header that reaches the end of the text without its top-level colon (its brackets
    never close) is read again up to the end of its logical line, trailing ``:`` dropped."""

    fast = _simple_header(source, start) if header else _simple_statement(source, start)
    if fast is not None:
        return fast
    text, stop, closed = _scan(source, start, header, line_only=False)
    if header and not closed:
        text, stop, _ = _scan(source, start, header, line_only=True)
        text = text.rstrip(":").rstrip()
    return text, stop


def _scan(source: str, start: int, header: bool, line_only: bool) -> tuple[str, int, bool]:
    """The general scan: (normalised text, stop index, stopped at its end rather than at
    the end of the text). ``line_only`` stops at any newline, whatever the depth."""
    pieces: list[str] = []
    depth = 0
    pos = start
    size = len(source)
    match = _TOKEN.match
    while pos < size:
        m = match(source, pos)
        if m is None:  # unreachable: every character starts some token
            break
        kind = m.lastgroup
        if kind == "other" or kind == "str":
            pieces.append(m.group())
        elif kind == "open":
            depth += 1
            pieces.append(m.group())
        elif kind == "close":
            depth = max(0, depth - 1)
            while pieces and not pieces[-1].strip():
                pieces.pop()
            if header and depth == 0 and pieces:
                last = pieces[-1].rstrip()
                if last.endswith(",") and m.group() == ")":
                    pieces[-1] = last[:-1]
            pieces.append(m.group())
        elif kind == "colon":
            if depth == 0 and header:
                return _tidy("".join(pieces)), pos, True
            pieces.append(":")
        elif kind == "nl":
            if line_only or (depth == 0 and (not header or m.group() == ";")):
                return _tidy("".join(pieces)), pos, True
            pieces.append(" ")
        elif kind == "cont":
            pieces.append(" ")
        # comments are dropped
        pos = m.end()
    return _tidy("".join(pieces)), pos, False


def _simple_header(source: str, start: int) -> tuple[str, int] | None:
    """The common case read with one regex: a header whose parameter list / bases hold no
    nested parentheses, strings, comments, continuations or trailing comma. On valid Python
    it returns exactly what the general scan returns (tested); None sends the header to the
    general scan."""

    m = _SIMPLE_HEADER.match(source, start)
    if m is None:
        return None
    text = m.group(1)
    if _NEEDS_TIDY.search(text):  # (a trailing comma always needs tidying)
        if _TRAILING_COMMA.search(text):
            return None
        text = _tidy(text)
    return text, m.end() - 1


def _simple_statement(source: str, start: int) -> tuple[str, int] | None:
    """A statement on one line with no strings, comments, continuations or semicolons and
    balanced brackets: read without the tokenizer (same result as the general scan)."""

    eol = source.find("\n", start)
    if eol < 0:
        eol = len(source)
    line = source[start:eol]
    if _STATEMENT_SPECIAL.search(line):
        return None
    if (
        line.count("(") != line.count(")")
        or line.count("[") != line.count("]")
        or line.count("{") != line.count("}")
    ):
        return None
    if _NEEDS_TIDY.search(line):
        line = _tidy(line)
    return line, eol


def _tidy(text: str) -> str:
    """Collapse whitespace outside string literals; no space inside brackets or before a
    comma, one after it."""

    parts = _SPLIT_STRINGS.split(text)
    for index in range(0, len(parts), 2):  # odd indices are string literals, kept verbatim
        part = _SPACES.sub(" ", parts[index])
        if "," in part:
            part = _COMMAS.sub(", ", part)
        part = _INSIDE_OPEN.sub(r"\1", part)
        parts[index] = _BEFORE_CLOSE.sub(r"\1", part)
    return "".join(parts).strip()


def constant_signature(name: str, text: str) -> str:
    """Shorten a long constant statement to ``NAME[: annotation] = ...``."""

    if name == "__all__" or len(text) <= MAX_CONSTANT_CHARS:
        return text
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "=" and depth == 0:
            return text[:index].rstrip() + " = ..."
        elif char in "\"'":
            break
    return text[:MAX_CONSTANT_CHARS] + " ..."


def first_doc_line(value: str) -> str | None:
    """The first non-blank line of a docstring, stripped; None if it is blank."""

    for line in value.split("\n"):
        stripped = line.strip()
        if stripped:
            return stripped
    return None


def definition_at(source: str, line: int) -> tuple[str, str] | None:
    """(qualified name, kind) of the definition written on ``line`` (1-based) of a Python
    source or stub: a ``def``/``class`` whose keyword is on that line, or a name bound
    there by an assignment or annotation (``stdout: TextIO``) in a module or class body.
    The innermost wins; None when nothing is defined there or the text does not parse."""

    import ast  # here: only external locations need it

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: tuple[str, str] | None = None
    todo: list[tuple[list[ast.stmt], str, bool]] = [(tree.body, "", False)]
    while todo:
        body, prefix, in_class = todo.pop()
        for node in body:
            end = getattr(node, "end_lineno", None) or node.lineno
            if not node.lineno <= line <= end:
                continue
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                qual = prefix + node.name
                if node.lineno == line:
                    is_class = isinstance(node, ast.ClassDef)
                    found = (qual, "class" if is_class else "method" if in_class else "function")
                if isinstance(node, ast.ClassDef):
                    todo.append((node.body, qual + ".", True))
            elif isinstance(node, ast.If | ast.Try):
                nested = [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
                for handler in getattr(node, "handlers", []):
                    nested.extend(handler.body)
                todo.append((nested, prefix, in_class))
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.lineno == line:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        found = (prefix + target.id, "variable")
    return found


MODULE_ROOTS = ("site-packages", "dist-packages")


def module_of_file(parts: tuple[str, ...], is_package_dir: Callable[[int], bool]) -> str | None:
    """The dotted module a Python file outside the segment defines, from its path ``parts``
    (``("/", "usr", "lib", ..., "os", "__init__.pyi")``): what follows ``site-packages``,
    ``dist-packages``, typeshed's ``stdlib`` or ``stubs/<distribution>``; else the chain of
    directories ``is_package_dir(i)`` says hold an ``__init__`` (a plain stdlib file gives
    its own name)."""

    if not parts or not parts[-1].endswith((".py", ".pyi")):
        return None
    stem = parts[-1].rsplit(".", 1)[0]
    names = list(parts[:-1]) + ([] if stem == "__init__" else [stem])
    start: int | None = None
    for i, part in enumerate(parts[:-1]):
        typeshed = i > 0 and parts[i - 1].startswith("typeshed")
        if part in MODULE_ROOTS or (part == "stdlib" and typeshed):
            start = i + 1
        elif part == "stubs" and typeshed:
            start = i + 2  # stubs/<distribution>/<package>/...
    if start is None:
        start = len(parts) - 1
        while start > 1 and is_package_dir(start - 1):
            start -= 1
    dotted = [n.removesuffix("-stubs") for n in names[start:]]
    if not dotted or not all(n.isidentifier() for n in dotted):
        return None
    return ".".join(dotted)
