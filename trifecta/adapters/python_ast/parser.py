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
    SCANNER_VERSION,
    LineIndex,
    constant_signature,
    first_doc_line,
    prepare_source,
)

WALKER_VERSION = "1"
PARSER_VERSION = f"{WALKER_VERSION}.{SCANNER_VERSION}-py{sys.version_info[0]}.{sys.version_info[1]}"

# Statement types that matter, by what to do with them; every other statement is skipped
# with one dict lookup.
_DEF, _LOOP, _WITH, _TRY, _MATCH, _ASSIGN = range(6)
_DISPATCH: dict[type[ast.stmt], int] = {
    ast.FunctionDef: _DEF,
    ast.AsyncFunctionDef: _DEF,
    ast.ClassDef: _DEF,
    ast.If: _LOOP,
    ast.For: _LOOP,
    ast.AsyncFor: _LOOP,
    ast.While: _LOOP,
    ast.With: _WITH,
    ast.AsyncWith: _WITH,
    ast.Try: _TRY,
    ast.TryStar: _TRY,
    ast.Match: _MATCH,
    ast.Assign: _ASSIGN,
    ast.AnnAssign: _ASSIGN,
}


def _docstring(body: list[ast.stmt]) -> str | None:
    if body:
        first = body[0]
        if isinstance(first, ast.Expr):
            value = first.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return first_doc_line(value.value)
    return None


class _Walker:
    __slots__ = ("entries", "index")

    def __init__(self, source: str) -> None:
        self.index = LineIndex(source)
        self.entries: list[SkeletonEntry] = []

    def body(self, stmts: list[ast.stmt], scope: tuple[str, ...], in_class: bool) -> None:
        dispatch = _DISPATCH.get
        for node in stmts:
            action = dispatch(type(node))
            if action is None:
                continue
            if action == _DEF:
                self.definition(node, scope, in_class)  # type: ignore[arg-type]
            elif action == _LOOP:
                self.body(node.body, scope, in_class)  # type: ignore[attr-defined]
                if node.orelse:  # type: ignore[attr-defined]
                    self.body(node.orelse, scope, in_class)  # type: ignore[attr-defined]
            elif action == _WITH:
                self.body(node.body, scope, in_class)  # type: ignore[attr-defined]
            elif action == _TRY:
                self.body(node.body, scope, in_class)  # type: ignore[attr-defined]
                for handler in node.handlers:  # type: ignore[attr-defined]
                    self.body(handler.body, scope, in_class)
                if node.orelse:  # type: ignore[attr-defined]
                    self.body(node.orelse, scope, in_class)  # type: ignore[attr-defined]
                if node.finalbody:  # type: ignore[attr-defined]
                    self.body(node.finalbody, scope, in_class)  # type: ignore[attr-defined]
            elif action == _MATCH:
                for case in node.cases:  # type: ignore[attr-defined]
                    self.body(case.body, scope, in_class)
            elif not scope:
                self.constant(node)  # type: ignore[arg-type]

    def definition(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
        scope: tuple[str, ...],
        in_class: bool,
    ) -> None:
        index = self.index
        decorators = (
            tuple(index.read_decorator(d.lineno, d.col_offset) for d in node.decorator_list)
            if node.decorator_list
            else ()
        )
        signature = index.read(node.lineno, node.col_offset, True)[0]
        is_class = type(node) is ast.ClassDef
        kind = "class" if is_class else ("method" if in_class else "function")
        inner = (*scope, node.name)
        self.entries.append(
            SkeletonEntry(
                kind=kind,
                name=node.name,
                qualname=".".join(inner),
                signature=signature,
                line_start=node.lineno,
                line_end=node.end_lineno or node.lineno,
                doc=_docstring(node.body),
                decorators=decorators,
                depth=len(scope),
            )
        )
        self.body(node.body, inner, is_class)

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
        text, line_end = self.index.read(node.lineno, node.col_offset, False)
        self.entries.append(
            SkeletonEntry(
                kind="constant",
                name=name,
                qualname=name,
                signature=constant_signature(name, text),
                line_start=node.lineno,
                line_end=line_end,
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
