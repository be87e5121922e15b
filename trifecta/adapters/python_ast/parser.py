"""``AstSkeletonParser``: skeletons from the standard library's ``ast`` (exact, the default).

One ``ast.parse`` and one walk over *statements* (never expressions): module and class
bodies, function bodies (nested definitions are kept, see ADR 0005) and the bodies of
compound statements (``if``/``try``/``with``/``for``/``while``/``match``), so every
``def``/``class`` node that ``ast.walk`` would see is in the skeleton. Signatures are read
from the source text by the shared scanner in ``trifecta.domain.pysource``.
"""

from __future__ import annotations

import ast
import sys
import warnings

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

PARSER_VERSION = f"1-py{sys.version_info[0]}.{sys.version_info[1]}"

_DEFS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_LOOPS = frozenset({ast.If, ast.For, ast.AsyncFor, ast.While})
_WITHS = frozenset({ast.With, ast.AsyncWith})
_TRIES = frozenset({ast.Try, ast.TryStar})
_ASSIGNS = frozenset({ast.Assign, ast.AnnAssign})


def _docstring(body: list[ast.stmt]) -> str | None:
    if body:
        first = body[0]
        if isinstance(first, ast.Expr):
            value = first.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return first_doc_line(value.value)
    return None


class _Walker:
    __slots__ = ("entries", "index", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.index = LineIndex(source)
        self.entries: list[SkeletonEntry] = []

    def body(self, stmts: list[ast.stmt], scope: tuple[str, ...], in_class: bool) -> None:
        # Dispatch on the exact node type: cheaper than isinstance chains on every statement.
        for node in stmts:
            kind = type(node)
            if kind in _DEFS:
                self.definition(node, scope, in_class)  # type: ignore[arg-type]
            elif kind in _LOOPS:
                self.body(node.body, scope, in_class)  # type: ignore[attr-defined]
                self.body(node.orelse, scope, in_class)  # type: ignore[attr-defined]
            elif kind in _WITHS:
                self.body(node.body, scope, in_class)  # type: ignore[attr-defined]
            elif kind in _TRIES:
                self.body(node.body, scope, in_class)  # type: ignore[attr-defined]
                for handler in node.handlers:  # type: ignore[attr-defined]
                    self.body(handler.body, scope, in_class)
                self.body(node.orelse, scope, in_class)  # type: ignore[attr-defined]
                self.body(node.finalbody, scope, in_class)  # type: ignore[attr-defined]
            elif kind is ast.Match:
                for case in node.cases:  # type: ignore[attr-defined]
                    self.body(case.body, scope, in_class)
            elif not scope and kind in _ASSIGNS:
                self.constant(node)  # type: ignore[arg-type]

    def definition(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
        scope: tuple[str, ...],
        in_class: bool,
    ) -> None:
        source, index = self.source, self.index
        decorators = []
        for deco in node.decorator_list:
            # Read from the "@" (the expression may start later, e.g. "@(x)").
            at = source.rfind("@", 0, index.offset(deco.lineno, deco.col_offset) + 1)
            decorators.append(scan_header(source, at + 1, header=False)[0])
        signature, _ = scan_header(source, index.offset(node.lineno, node.col_offset), True)
        is_class = isinstance(node, ast.ClassDef)
        kind = "class" if is_class else ("method" if in_class else "function")
        self.entries.append(
            SkeletonEntry(
                kind=kind,
                name=node.name,
                qualname=".".join((*scope, node.name)),
                signature=signature,
                line_start=node.lineno,
                line_end=node.end_lineno or node.lineno,
                doc=_docstring(node.body),
                decorators=tuple(decorators),
                depth=len(scope),
            )
        )
        self.body(node.body, (*scope, node.name), is_class)

    def constant(self, node: ast.Assign | ast.AnnAssign) -> None:
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                return
            target = node.targets[0]
        else:
            target = node.target
        if not isinstance(target, ast.Name):
            return
        name = target.id
        if name != "__all__" and not CONSTANT_NAME.match(name):
            return
        start = self.index.offset(node.lineno, node.col_offset)
        text, stop = scan_header(self.source, start, header=False)
        self.entries.append(
            SkeletonEntry(
                kind="constant",
                name=name,
                qualname=name,
                signature=constant_signature(name, text),
                line_start=node.lineno,
                line_end=self.index.line_of(max(start, stop - 1)),
            )
        )


class AstSkeletonParser(SkeletonParser):
    """Exact skeletons of files that parse; ``ParseFailed`` on a syntax error."""

    @property
    def name(self) -> str:
        return "ast"

    @property
    def version(self) -> str:
        return PARSER_VERSION

    def parse(self, source: str, path: str) -> Skeleton:
        text = prepare_source(source)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning/DeprecationWarning on escapes
                tree = ast.parse(text, filename=path)
        except SyntaxError as e:
            raise ParseFailed(f"{path}:{e.lineno}: {e.msg}") from e
        except (ValueError, RecursionError, MemoryError) as e:
            raise ParseFailed(f"{path}: cannot parse ({type(e).__name__}: {e})") from e
        walker = _Walker(text)
        try:
            walker.body(tree.body, (), False)
        except RecursionError as e:
            raise ParseFailed(f"{path}: definitions nested too deeply") from e
        return Skeleton(
            path=path,
            parser="ast",
            partial=False,
            module_doc=_docstring(tree.body),
            entries=tuple(walker.entries),
            source_bytes=len(source.encode("utf-8")),
        )
