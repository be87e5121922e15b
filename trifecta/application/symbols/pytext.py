"""Python source read as text, tolerantly (pure): the identifier under a column, import
lines, what a line binds, a ``def``'s parameters. Used by the fallback resolver for files
that may not even parse; nothing here fails on bad input.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass

from trifecta.domain.model import SymbolLocation

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
IMPORT = re.compile(r"^\s*import\s+(.+?)\s*(?:#.*)?$")
FROM_IMPORT = re.compile(r"^\s*from\s+(\.*[\w.]*)\s+import\s+(.+?)\s*(?:#.*)?$")


def module_of(path: str) -> str | None:
    """The dotted module a segment file defines (``src/`` stripped), if it is Python."""

    if not path.endswith(".py"):
        return None
    stem = path[: -len(".py")].removesuffix("/__init__")
    stem = stem.removeprefix("src/") if path.startswith("src/") else stem
    parts = stem.split("/")
    return ".".join(parts) if all(p.isidentifier() for p in parts) else None


@dataclass(frozen=True)
class Imported:
    """A name bound by an import: ``module`` and, for ``from`` imports, the ``name``."""

    module: str
    name: str | None


def scan_imports(text: str, path: str) -> dict[str, Imported]:
    """Local name -> what it imports, from import lines (tolerant: never fails)."""

    package = (module_of(path) or "").split(".")
    if not path.endswith("/__init__.py"):
        package = package[:-1]
    found: dict[str, Imported] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "(" in line and ")" not in line and ("import" in line):
            line = _code(line)  # a comment inside the parentheses must not hide what follows
            while i + 1 < len(lines) and ")" not in line:
                i += 1
                line = line + " " + _code(lines[i])
        line = line.replace("(", " ").replace(")", " ").replace("\\", " ")
        i += 1
        if m := FROM_IMPORT.match(line):
            source = m.group(1)
            dots = len(source) - len(source.lstrip("."))
            if dots:
                keep = len(package) - (dots - 1)
                if keep < 0:
                    continue
                rest = source[dots:]
                source = ".".join([*package[:keep], *([rest] if rest else [])])
            for part in m.group(2).split(","):
                words = part.split()
                if not words or words[0] == "*":
                    continue
                local = words[2] if len(words) == 3 and words[1] == "as" else words[0]
                if local.isidentifier() and source:
                    found[local] = Imported(source, words[0])
        elif m := IMPORT.match(line):
            for part in m.group(1).split(","):
                words = part.split()
                if not words:
                    continue
                if len(words) == 3 and words[1] == "as":
                    found[words[2]] = Imported(words[0], None)
                else:
                    head = words[0].split(".")[0]
                    found.setdefault(head, Imported(head, None))
    return found


def external(module: str, member: str) -> SymbolLocation:
    """An answer outside the segment: ``module`` and the member's dotted name in it."""

    return SymbolLocation(
        "", 0, 0, 0, "module" if not member else "unknown", member or None, True, module
    )


def identifier_at(line_text: str, column: int) -> tuple[str, list[str]] | None:
    """The identifier under a 1-based column and the dotted chain before it
    (``self.run`` at ``run`` -> ("run", ["self"]))."""

    for m in IDENT.finditer(line_text):
        if m.start() <= column - 1 < m.end():
            chain: list[str] = []
            pos = m.start()
            while pos > 0 and line_text[pos - 1] == ".":
                before = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", line_text[: pos - 1])
                if before is None:
                    break
                chain.insert(0, before.group(1))
                pos = before.start()
            return m.group(), chain
    return None


ASSIGN = re.compile(
    r"^\s*([A-Za-z_][\w\s,*()\[\]]*?)\s*(?::[^=]*)?(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)"
)
FOR = re.compile(r"^\s*(?:async\s+)?for\s+(.+?)\s+in\b")
WITH_OR_EXCEPT = re.compile(r"^\s*(?:async\s+)?(?:with|except\*?)\b")
AS_TARGET = re.compile(r"\bas\s+(\([\w\s,]*\)|[A-Za-z_]\w*)")
CALL_OR_ITEM = re.compile(r"\w\s*[(\[]")  # f(a=1), x[i] = v: not a binding of a or i
WALRUS = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*:=")
DECLARED = re.compile(r"^\s*(?:global|nonlocal)\s+(.+)$")
LOCAL_IMPORT = re.compile(r"^\s*(?:from\s+\S+\s+)?import\b")


def closing_bracket(text: str, start: int) -> int | None:
    """The index of the bracket closing the one at ``start`` (None: not in ``text``)."""

    depth = 0
    for i in range(start, len(text)):
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return None


def signature_params(signature: str) -> list[str]:
    """Parameter names of a ``def`` signature (``self``, ``*args`` and ``**kw`` included)."""

    start = signature.find("(")
    if start < 0:
        return []
    close = closing_bracket(signature, start)
    end = len(signature) if close is None else close
    names, depth, part = [], 0, ""
    for ch in signature[start + 1 : end] + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            head = re.split(r"[:=]", part, maxsplit=1)[0].strip().lstrip("*").strip()
            if head.isidentifier():
                names.append(head)
            part = ""
        else:
            part += ch
    return names


_DEF = {
    "class": r"^\s*class\s+({name})\b",
    "function": r"^\s*(?:async\s+)?def\s+({name})\b",
    "method": r"^\s*(?:async\s+)?def\s+({name})\b",
    "constant": r"^\s*({name})\s*[:=]",
}


def _code(text: str) -> str:
    """A line without its trailing comment (string contents are not parsed: tolerant)."""

    return text.split("#", 1)[0]


def _binds(text: str, name: str) -> str | None:
    """``variable``/``import`` when this (comment-free) line binds ``name``, else None."""

    targets: list[str] = []
    if LOCAL_IMPORT.match(text):
        return "import" if name in scan_imports(text.strip(), "") else None
    if m := FOR.match(text):
        targets = IDENT.findall(m.group(1))
    elif WITH_OR_EXCEPT.match(text):  # each ``as`` target (``with a as x, b as y:``)
        targets = [t for group in AS_TARGET.findall(text) for t in IDENT.findall(group)]
    elif (m := ASSIGN.match(text)) and not CALL_OR_ITEM.search(m.group(1)):
        targets = [t for t in IDENT.findall(m.group(1)) if not keyword.iskeyword(t)]
    targets += WALRUS.findall(text)
    return "variable" if name in targets else None


_SIGNIFICANT = re.compile(r"""[rRbBuUfF]{0,2}(\"\"\"|'''|"|')|#[^\n]*|\\\n|[()\[\]{}\n]""")
_STRING_END = {
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.S),
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''", re.S),
    '"': re.compile(r'(?:[^\\\n"]|\\.)*(?:"|(?=\n)|$)', re.S),
    "'": re.compile(r"(?:[^\\\n']|\\.)*(?:'|(?=\n)|$)", re.S),
}


def statement_starts(lines: list[str]) -> list[bool]:
    """For each line, whether it starts a statement: False inside brackets (a keyword
    argument ``hash=...`` on a continuation line binds nothing), inside a multi-line string,
    or after a backslash continuation. Tolerant: unbalanced text never fails."""

    text = "\n".join(lines)
    starts = [True]
    depth = 0
    pos = 0
    search = _SIGNIFICANT.search
    while (m := search(text, pos)) is not None:
        quote = m.group(1)
        if quote:
            end = _STRING_END[quote].match(text, m.end())
            stop = end.end() if end is not None else len(text)
            starts.extend([False] * text.count("\n", m.end(), stop))
            pos = max(stop, m.end())
            continue
        token = m.group()
        pos = m.end()
        if token == "\n":
            starts.append(depth == 0)
        elif token == "\\\n":
            starts.append(False)
        elif token in "([{":
            depth += 1
        elif token in ")]}":
            depth = max(0, depth - 1)
    starts.extend([depth == 0] * (len(lines) - len(starts)))
    return starts[: len(lines)]


COMPREHENSION_FOR = re.compile(r"\b(?:async\s+)?for\s+([A-Za-z_][\w\s,()\[\]]*?)\s+in\b")
LAMBDA = re.compile(r"\blambda\b([^:]*):")


def inner_binding(text: str, offset: int, name: str) -> tuple[int, str] | None:
    """Where a comprehension (``[x for x in xs]``) or a ``lambda`` binds ``name`` for a use
    at ``offset`` of a statement's ``text``, when the use is inside it (the first iterable of
    a comprehension is read outside it): the offset of the target and ``comprehension`` or
    ``lambda``, else None. Strings are
    not told apart from code: tolerant, a rare false match only makes a local answer."""

    best: tuple[int, int, str] | None = None  # (span start, target, what): innermost wins
    for m in COMPREHENSION_FOR.finditer(text):
        span = _enclosing(text, m.start())
        if span is None or not span[0] < offset < span[1]:
            continue
        targets = [(t.start(), t.group()) for t in IDENT.finditer(m.group(1))]
        hit = [start for start, word in targets if word == name]
        if not hit:
            continue
        if _first_iterable(text, span, m) and m.end() <= offset < _clause_end(text, m.end()):
            continue  # ``[x for x in x]``: the last ``x`` is the enclosing scope's
        if best is None or span[0] > best[0]:
            best = (span[0], m.start(1) + hit[0], "comprehension")
    for m in LAMBDA.finditer(text):
        if offset < m.start() + len("lambda"):  # on its parameters or in its body
            continue
        params = [p.split("=")[0].strip().lstrip("*") for p in m.group(1).split(",")]
        if name not in params:
            continue
        span = _enclosing(text, m.start())
        end = _lambda_end(text, m.end())
        inside = span[0] if span is not None else -1
        if offset < end and (best is None or inside >= best[0]):
            here = re.search(rf"\b{re.escape(name)}\b", text[m.start() + 6 : m.end()])
            if here is not None:
                best = (inside, m.start() + 6 + here.start(), "lambda")
    return (best[1], best[2]) if best is not None else None


_CLAUSE = re.compile(r"\s(?:async\s+)?(?:for|if)\s")


def _end_at_depth(text: str, start: int, stops: Callable[[int], bool]) -> int:
    """The first index from ``start`` that closes the bracket ``start`` is in, or where
    ``stops(i)`` holds outside any bracket opened after ``start``; else the end of text."""

    depth = 0
    for i in range(start, len(text)):
        char = text[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and stops(i):
            return i
    return len(text)


def _lambda_end(text: str, start: int) -> int:
    """Where a lambda's body starting at ``start`` ends: a comma or a closing bracket at
    its own depth, or the end of the statement."""

    return _end_at_depth(text, start, lambda i: text[i] == ",")


def _enclosing(text: str, pos: int) -> tuple[int, int] | None:
    """The innermost bracket pair around ``pos`` (opening, closing index)."""

    depth = 0
    for i in range(pos - 1, -1, -1):
        if text[i] in ")]}":
            depth += 1
        elif text[i] in "([{":
            if depth == 0:
                close = closing_bracket(text, i)
                return i, len(text) if close is None else close
            depth -= 1
    return None


def _first_iterable(text: str, span: tuple[int, int], m: re.Match[str]) -> bool:
    """Whether ``m`` is the first ``for`` clause of the comprehension in ``span``."""

    for other in COMPREHENSION_FOR.finditer(text, span[0], m.start()):
        if _enclosing(text, other.start()) == span:
            return False
    return True


def _clause_end(text: str, start: int) -> int:
    """Where the iterable starting at ``start`` ends: the next ``for``/``if`` clause or the
    closing bracket, at its own depth."""

    return _end_at_depth(text, start, lambda i: _CLAUSE.match(text, i, i + 8) is not None)
