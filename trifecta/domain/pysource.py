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
- ``first_doc_line`` turns a docstring value into its first non-blank line.
"""

from __future__ import annotations

import re
from itertools import accumulate

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
_SPECIAL = re.compile(r"[\"'#\\;]|,\s*\)")
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
    """Maps 1-based lines and UTF-8 byte columns to ``str`` indices of one source text."""

    __slots__ = ("_source", "_starts")

    def __init__(self, source: str) -> None:
        self._source = source
        self._starts = [0, *accumulate(map((1).__add__, map(len, source.split("\n"))))]

    def offset(self, line: int, byte_col: int) -> int:
        start = self._starts[line - 1]
        if byte_col == 0:
            return start
        end = self._starts[line] if line < len(self._starts) else len(self._source)
        text = self._source[start:end]
        if text.isascii():
            return start + byte_col
        return start + len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def line_of(self, offset: int) -> int:
        """The 1-based line holding ``offset``."""

        lo, hi = 0, len(self._starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1


def scan_header(source: str, start: int, header: bool) -> tuple[str, int]:
    """Read from ``start`` to the top-level ``:`` (``header=True``: a def/class header) or
    to the top-level end of the statement (``header=False``). Return the normalised text
    and the index where the scan stopped (the colon / newline / semicolon / end of text)."""

    if header:
        fast = _one_line_header(source, start)
        if fast is not None:
            return fast
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
                break
            pieces.append(":")
        elif kind == "nl":
            if depth == 0 and (not header or m.group() == ";"):
                break
            pieces.append(" ")
        elif kind == "cont":
            pieces.append(" ")
        # comments are dropped
        pos = m.end()
    return _tidy("".join(pieces)), pos


def _one_line_header(source: str, start: int) -> tuple[str, int] | None:
    """The common case, a header on one line with no strings, comments, continuations or
    trailing comma, read without the tokenizer; None when the general scan is needed. It
    returns exactly what the general scan would."""

    eol = source.find("\n", start)
    if eol < 0:
        eol = len(source)
    line = source[start:eol]
    colon = line.rfind(":")
    if colon < 0 or _SPECIAL.search(line) or line[colon + 1 :].strip():
        return None
    text = line[:colon]
    if ":" in text:  # every other colon must sit inside brackets (annotations, lambdas)
        cut = -1
        while True:
            cut = text.find(":", cut + 1)
            if cut < 0:
                break
            head = text[:cut]
            if head.count("(") + head.count("[") + head.count("{") <= (
                head.count(")") + head.count("]") + head.count("}")
            ):
                return None
    if (
        text.count("(") != text.count(")")
        or text.count("[") != text.count("]")
        or text.count("{") != text.count("}")
    ):
        return None
    if _NEEDS_TIDY.search(text):
        text = _tidy(text)
    return text.strip(), start + colon


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
