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
import threading
import warnings
from typing import TYPE_CHECKING, Any

from trifecta.domain.errors import ParseFailed
from trifecta.domain.model import Skeleton, SkeletonEntry
from trifecta.domain.ports import SkeletonParser
from trifecta.domain.pysource import (
    CONSTANT_NAME,
    LineIndex,
    constant_signature,
    first_doc_line,
    prepare_source,
    scan_header,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

WALKER_VERSION = "1"

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
                f"{WALKER_VERSION}-ts{version('tree-sitter')}-tsp{version('tree-sitter-python')}"
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
                    scan_header(self.source, _offset(d.start_point, self.index) + 1, False)[0]
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
        signature, _ = scan_header(self.source, _offset(node.start_point, index), True)
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
        start = _offset(statement.start_point, index)
        text, stop = scan_header(self.source, start, header=False)
        self.entries.append(
            SkeletonEntry(
                kind="constant",
                name=name,
                qualname=name,
                signature=constant_signature(name, text),
                line_start=statement.start_point[0] + 1,
                line_end=index.line_of(max(start, stop - 1)),
            )
        )


class TreeSitterSkeletonParser(SkeletonParser):
    """Skeletons from Tree-sitter; never raises on syntax errors, returns ``partial``."""

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
        walker = _Walker(text)
        try:
            walker.children(root, (), False)
        except RecursionError as e:
            raise ParseFailed(f"{path}: definitions nested too deeply") from e
        return Skeleton(
            path=path,
            parser="tree_sitter",
            partial=bool(root.has_error),
            module_doc=walker.docstring(root),
            entries=tuple(walker.entries),
            source_bytes=len(source.encode("utf-8")),
        )
