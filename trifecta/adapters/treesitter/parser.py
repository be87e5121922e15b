"""``TreeSitterSkeletonParser``: skeletons from Tree-sitter (tolerant; the fallback).

``tree_sitter`` and ``tree_sitter_python`` are imported on first use, never at package
import. The walk mirrors ``AstSkeletonParser`` statement for statement: definitions are
found in module, class and function bodies and in the blocks of compound statements; their
signatures come from the same source-text scanner (``trifecta.domain.pysource``), so on a
file that ``ast`` parses both parsers produce identical entries. On a file with syntax
errors the tree has ERROR/MISSING nodes: the walk also descends into ERROR nodes, recovers
what it can and marks the skeleton ``partial``.
"""

from __future__ import annotations

import ast
import re
import threading
import warnings
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from trifecta.domain.errors import ParseFailed
from trifecta.domain.model import Skeleton, SkeletonEntry
from trifecta.domain.ports import SkeletonParser
from trifecta.domain.pysource import (
    CONSTANT_NAME,
    SCANNER_VERSION,
    LineIndex,
    constant_signature,
    first_doc_line,
    prepare_source,
)
from trifecta.domain.records import replace

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

WALKER_VERSION = "2"

# Nodes whose children may hold definitions (statements and the clauses of compound ones).
_CONTAINERS = frozenset(
    {
        "module",
        "block",
        "if_statement",
        "elif_clause",
        "else_clause",
        "for_statement",
        "while_statement",
        "try_statement",
        "except_clause",
        "except_group_clause",
        "finally_clause",
        "with_statement",
        "match_statement",
        "case_clause",
        "ERROR",
    }
)
_STRING_PREFIX_PLAIN = frozenset({"", "r", "u", "R", "U"})

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _load() -> tuple[Parser, str]:
    """The Tree-sitter parser (one per process) and the library versions, loaded lazily."""

    with _lock:
        if "parser" not in _state:
            try:
                from importlib.metadata import version

                import tree_sitter
                import tree_sitter_python
            except ImportError as e:
                raise ParseFailed(f"tree-sitter is not installed ({e})") from e
            language = tree_sitter.Language(tree_sitter_python.language())
            _state["parser"] = tree_sitter.Parser(language)
            _state["version"] = (
                f"{WALKER_VERSION}.{SCANNER_VERSION}-ts{version('tree-sitter')}-tsp{version('tree-sitter-python')}"
            )
        parser: Parser = _state["parser"]
        libs: str = _state["version"]
        return parser, libs


def _string_value(node: Node, source: str, index: LineIndex) -> str | None:
    """The value of a string literal node as ``ast`` would see it (None if not a str)."""

    if node.type == "parenthesized_expression":
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) != 1:
            return None
        node = inner[0]
    if node.type not in ("string", "concatenated_string"):
        return None
    text = source[_offset(node.start_point, index) : _offset(node.end_point, index)]
    if node.type == "string" and not any(c.type == "interpolation" for c in node.children):
        quote_at = min(i for i in (text.find('"'), text.find("'")) if i >= 0)
        prefix = text[:quote_at]
        if prefix in _STRING_PREFIX_PLAIN:
            quote = text[quote_at : quote_at + 3]
            width = 3 if quote in ('"""', "'''") else 1
            body = text[quote_at + width : len(text) - width]
            if prefix in ("r", "R") or "\\" not in body:
                return body
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _offset(point: Any, index: LineIndex) -> int:
    return index.offset(point[0] + 1, point[1])


def _statements(block: Node | None) -> list[Node]:
    if block is None:
        return []
    return [c for c in block.named_children if c.type != "comment"]


def _last_line(node: Node) -> int:
    """The 1-based line where ``node`` really ends: trailing comments, which Tree-sitter
    puts inside blocks but ``ast`` ignores, do not count."""

    while True:
        children = [c for c in node.children if c.type != "comment"]
        if not children:
            row, col = node.end_point
            return int(row) + (1 if col > 0 or row == node.start_point[0] else 0)
        node = children[-1]


class _Walker:
    __slots__ = ("entries", "index", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.index = LineIndex(source)
        self.entries: list[SkeletonEntry] = []

    def docstring(self, block: Node | None) -> str | None:
        statements = _statements(block)
        if statements and statements[0].type == "expression_statement":
            inner = [c for c in statements[0].named_children if c.type != "comment"]
            if len(inner) == 1:
                value = _string_value(inner[0], self.source, self.index)
                if value is not None:
                    return first_doc_line(value)
        return None

    def children(self, node: Node, scope: tuple[str, ...], in_class: bool) -> None:
        for child in node.children:
            kind = child.type
            if kind in ("function_definition", "class_definition"):
                self.definition(child, (), scope, in_class)
            elif kind == "decorated_definition":
                definition = child.child_by_field_name("definition")
                decorators = tuple(
                    self.index.read(d.start_point[0] + 1, d.start_point[1] + 1, False)[0]
                    for d in child.children
                    if d.type == "decorator"
                )
                if definition is not None:
                    self.definition(definition, decorators, scope, in_class)
            elif kind in _CONTAINERS:
                self.children(child, scope, in_class)
            elif not scope and kind == "expression_statement":
                self.constant(child)

    def definition(
        self, node: Node, decorators: tuple[str, ...], scope: tuple[str, ...], in_class: bool
    ) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is None or name_node.is_missing:
            self.children(node, scope, in_class)  # a broken header: keep what lies inside
            return
        index = self.index
        name = self.source[
            _offset(name_node.start_point, index) : _offset(name_node.end_point, index)
        ]
        signature = index.read(node.start_point[0] + 1, node.start_point[1], True)[0]
        is_class = node.type == "class_definition"
        body = node.child_by_field_name("body")
        self.entries.append(
            SkeletonEntry(
                kind="class" if is_class else ("method" if in_class else "function"),
                name=name,
                qualname=".".join((*scope, name)),
                signature=signature,
                line_start=node.start_point[0] + 1,
                line_end=_last_line(node),
                doc=self.docstring(body),
                decorators=decorators,
                depth=len(scope),
            )
        )
        if body is not None:
            self.children(body, (*scope, name), is_class)

    def constant(self, statement: Node) -> None:
        inner = [c for c in statement.named_children if c.type != "comment"]
        if len(inner) != 1 or inner[0].type != "assignment":
            return
        assignment = inner[0]
        left = assignment.child_by_field_name("left")
        right = assignment.child_by_field_name("right")
        if left is None or left.type != "identifier":
            return
        if right is not None and right.type == "assignment":  # A = B = 1: ast has 2 targets
            return
        if right is None and assignment.child_by_field_name("type") is None:
            return
        index = self.index
        name = self.source[_offset(left.start_point, index) : _offset(left.end_point, index)]
        if name != "__all__" and not CONSTANT_NAME.match(name):
            return
        row, col = statement.start_point
        text, line_end = index.read(row + 1, col, False)
        self.entries.append(
            SkeletonEntry(
                kind="constant",
                name=name,
                qualname=name,
                signature=constant_signature(name, text),
                line_start=statement.start_point[0] + 1,
                line_end=line_end,
            )
        )


# ---- recovery from syntax errors ---------------------------------------------------------

_DEF_LINE = re.compile(r"(?:async[ \t]+def|def|class)[ \t]")
_TRIPLE_OR_SKIP = re.compile(r"""\"\"\"|'''|\#[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")
_HEADER_NAME = re.compile(r"(?:async[ \t]+)?(def|class)[ \t]+(\w+)")


def _in_long_string(text: str) -> list[bool]:
    """Per line: does it start inside a triple-quoted string? (A light scan that survives
    syntax errors; it keeps ``def`` lines inside docstrings from looking like definitions.)"""

    line_starts = [0, *accumulate(map((1).__add__, map(len, text.split("\n"))))][:-1]
    inside = [False] * len(line_starts)
    open_quote: str | None = None
    spans: list[tuple[int, int]] = []
    opened_at = 0
    pos = 0
    while True:
        if open_quote is None:
            m = _TRIPLE_OR_SKIP.search(text, pos)
            if m is None:
                break
            if m.group() in ('"""', "'''"):
                open_quote, opened_at = m.group(), m.end()
            pos = m.end()
        else:
            end = text.find(open_quote, pos)
            while end > 0 and _escaped(text, end):
                end = text.find(open_quote, end + 1)
            stop = len(text) if end < 0 else end
            spans.append((opened_at, stop))
            open_quote = None
            if end < 0:
                break
            pos = end + 3
    for begin, stop in spans:  # lines starting inside (begin, stop]
        for line in range(bisect_right(line_starts, begin), bisect_right(line_starts, stop)):
            inside[line] = True
    return inside


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _chunks(lines: list[str]) -> list[tuple[int, int, int, bool]]:
    """Split a file that does not parse into chunks (first line, end line, indentation,
    is a definition): each definition (with its decorators) up to the next definition line,
    and runs of other statements that are not inside the chunk they follow (less indented
    than it, or as indented as a definition)."""

    long_string = _in_long_string("\n".join(lines))
    starts: list[tuple[int, int, bool]] = []
    base = -1
    in_def = False
    pending_decorator: int | None = None
    for number, line in enumerate(lines):
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#") or long_string[number]:
            continue
        indent = len(line) - len(stripped)
        if stripped.startswith("@"):
            if pending_decorator is None:
                pending_decorator = number
            continue
        if _DEF_LINE.match(stripped):
            first = pending_decorator if pending_decorator is not None else number
            starts.append((first, indent, True))
            base, in_def = indent, True
        elif pending_decorator is None and (
            base < 0 or indent < base or (in_def and indent == base)
        ):
            starts.append((number, indent, False))
            base, in_def = indent, False
        pending_decorator = None
    if not starts:
        return []
    bounds = [s[0] for s in starts[1:]] + [len(lines)]
    return [(s[0], end, s[1], s[2]) for s, end in zip(starts, bounds, strict=True)]


def _dedent(lines: list[str], indent: int) -> str:
    out = []
    for line in lines:
        prefix = len(line) - len(line.lstrip(" \t"))
        out.append(line[min(indent, prefix) :])
    return "\n".join(out)


def _recover(parser: Parser, text: str) -> tuple[str | None, list[SkeletonEntry]]:
    """Parse each chunk on its own, so one syntax error costs one definition, not the rest
    of the file; nesting comes back from indentation (a stack of open definitions)."""

    lines = text.split("\n")
    module_doc: str | None = None
    # (indentation, entry with absolute lines or None for other statements, last line)
    found: list[tuple[int, SkeletonEntry | None, int]] = []
    for first, end, indent, is_def in _chunks(lines):
        last = end
        while last > first + 1 and not lines[last - 1].strip():
            last -= 1
        if not is_def:
            found.append((indent, None, last))
        chunk = _dedent(lines[first:end], indent)
        with _lock:
            root = parser.parse(chunk.encode("utf-8")).root_node
        walker = _Walker(chunk)
        walker.children(root, (), False)
        if first == 0 and not is_def:
            module_doc = walker.docstring(root)
        if is_def and not any(e.depth == 0 and e.kind != "constant" for e in walker.entries):
            stub = _header_only(lines, first, end)
            if stub is not None:
                found.append((indent, stub, stub.line_end))
            continue
        for entry in walker.entries:
            if entry.depth != 0 or (entry.kind == "constant" and (is_def or indent > 0)):
                continue
            if entry.kind != "constant" and not is_def:
                continue
            shifted = replace(
                entry, line_start=entry.line_start + first, line_end=entry.line_end + first
            )
            found.append((indent, shifted, shifted.line_end))
    return module_doc, _nest(found)


def _header_only(lines: list[str], first: int, end: int) -> SkeletonEntry | None:
    """A definition whose header itself is broken: its name and header line, as written."""

    while end > first + 1 and not lines[end - 1].strip():
        end -= 1
    for number in range(first, end):
        stripped = lines[number].strip()
        m = _HEADER_NAME.match(stripped)
        if m is not None:
            kind = "class" if m.group(1) == "class" else "function"
            signature = " ".join(stripped.removesuffix(":").split())
            return SkeletonEntry(kind, m.group(2), m.group(2), signature, number + 1, end)
    return None


def _nest(found: list[tuple[int, SkeletonEntry | None, int]]) -> list[SkeletonEntry]:
    entries: list[SkeletonEntry] = []
    stack: list[tuple[int, int]] = []  # (indentation, index in entries) of open definitions
    for indent, entry, last in found:
        while stack and stack[-1][0] >= indent:
            stack.pop()
        for _, index in stack:  # an enclosing definition ends no earlier than this chunk
            if entries[index].line_end < last:
                entries[index] = replace(entries[index], line_end=last)
        if entry is None:
            continue
        if entry.kind == "constant":
            entries.append(entry)
            continue
        parent = entries[stack[-1][1]] if stack else None
        kind = entry.kind
        if kind != "class":
            kind = "method" if parent is not None and parent.kind == "class" else "function"
        qualname = f"{parent.qualname}.{entry.name}" if parent is not None else entry.name
        entries.append(replace(entry, kind=kind, qualname=qualname, depth=len(stack)))
        stack.append((indent, len(entries) - 1))
    return entries


class TreeSitterSkeletonParser(SkeletonParser):
    """Skeletons from Tree-sitter; never raises on syntax errors, returns ``partial``.

    On a file with errors the whole-file tree is not used: Tree-sitter's error recovery
    often swallows everything after an unclosed bracket. Each definition is parsed on its
    own instead (``_recover``) and nesting is rebuilt from indentation.
    """

    @property
    def name(self) -> str:
        return "tree_sitter"

    @property
    def version(self) -> str:
        return _load()[1]

    def parse(self, source: str, path: str) -> Skeleton:
        parser, _ = _load()
        text = prepare_source(source)
        with _lock:  # a Parser object is not safe to share between threads
            tree = parser.parse(text.encode("utf-8"))
        root = tree.root_node
        try:
            if root.has_error:
                module_doc, entries = _recover(parser, text)
            else:
                walker = _Walker(text)
                walker.children(root, (), False)
                module_doc, entries = walker.docstring(root), walker.entries
        except RecursionError as e:
            raise ParseFailed(f"{path}: definitions nested too deeply") from e
        return Skeleton(
            path=path,
            parser="tree_sitter",
            partial=bool(root.has_error),
            module_doc=module_doc,
            entries=tuple(entries),
            source_bytes=len(source.encode("utf-8")),
        )
