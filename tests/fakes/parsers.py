"""Skeleton parsers (scripted, and a line-based one for packs)."""

from __future__ import annotations

from collections.abc import Callable

from trifecta.domain.errors import (
    ParseFailed,
)
from trifecta.domain.model import (
    Skeleton,
    SkeletonEntry,
)
from trifecta.domain.ports import (
    FileReader,
    SkeletonParser,
)


class FakeSkeletonParser(SkeletonParser):
    """Reads ``def``/``class`` lines by indentation (a Python subset, or the toy form
    ``def NAME``). A def/class line with unbalanced parentheses, or a line ``!error``, is a
    syntax error: ``strict`` raises ``ParseFailed``, otherwise the rest is returned with
    ``partial=True``. Bodies run until the next line indented as much or less."""

    def __init__(self, name: str = "ast", strict: bool = True, version: str = "1") -> None:
        self._name = name
        self._version = version
        self.strict = strict
        self.parsed: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self._version

    @staticmethod
    def _end_line(lines: list[str], index: int, indent: int) -> int:
        end = index
        for later in range(index + 1, len(lines)):
            text = lines[later]
            if not text.strip():
                continue
            if len(text) - len(text.lstrip()) <= indent:
                break
            end = later
        return end + 1

    def parse(self, source: str, path: str) -> Skeleton:
        self.parsed.append(path)
        lines = source.splitlines()
        entries: list[SkeletonEntry] = []
        stack: list[tuple[int, str, str]] = []  # (indent, name, kind)
        partial = False
        for index, line in enumerate(lines):
            stripped = line.strip()
            broken = stripped == "!error" or (
                stripped.startswith(("def ", "class ", "async def "))
                and stripped.count("(") != stripped.count(")")
            )
            if broken:
                if self.strict:
                    raise ParseFailed(f"{path}:{index + 1}: invalid syntax")
                partial = True
                continue
            indent = len(line) - len(line.lstrip())
            word = next(
                (w for w in ("async def", "def", "class") if stripped.startswith(w + " ")), None
            )
            if word is None:
                continue
            name = stripped[len(word) + 1 :].split("(")[0].split(":")[0].strip()
            while stack and stack[-1][0] >= indent:
                stack.pop()
            qual = ".".join([s[1] for s in stack] + [name])
            if word == "class":
                kind = "class"
            else:
                kind = "method" if stack and stack[-1][2] == "class" else "function"
            signature = stripped.rstrip(":") if stripped.endswith(":") else stripped
            entries.append(
                SkeletonEntry(
                    kind,
                    name,
                    qual,
                    signature,
                    index + 1,
                    self._end_line(lines, index, indent),
                    None,
                    (),
                    len(stack),
                )
            )
            stack.append((indent, name, kind))
        return Skeleton(path, self._name, partial, None, tuple(entries), len(source.encode()))


class FakeBlockSkeletonParser(FakeSkeletonParser):
    """``FakeSkeletonParser`` whose entries end where their indented block ends (the last
    line before the next line indented at or left of the definition), as real parsers do."""

    def parse(self, source: str, path: str) -> Skeleton:
        skeleton = super().parse(source, path)
        lines = source.splitlines()

        def end_of(start: int) -> int:
            column = len(lines[start - 1]) - len(lines[start - 1].lstrip())
            end = start
            for number in range(start + 1, len(lines) + 1):
                line = lines[number - 1]
                if line.strip() and len(line) - len(line.lstrip()) <= column:
                    break
                if line.strip():
                    end = number
            return end

        entries = tuple(
            SkeletonEntry(
                e.kind,
                e.name,
                e.qualname,
                e.signature,
                e.line_start,
                end_of(e.line_start),
                e.doc,
                e.decorators,
                e.depth,
            )
            for e in skeleton.entries
        )
        return Skeleton(
            skeleton.path,
            skeleton.parser,
            skeleton.partial,
            skeleton.module_doc,
            entries,
            skeleton.source_bytes,
        )


def ast_skeleton(source: str, path: str) -> Skeleton:
    """A small but real skeleton (classes, functions, methods, module constants with their
    true line ranges) built with the stdlib ``ast``: a stand-in for the skeleton use case."""

    import ast

    tree = ast.parse(source)
    entries: list[SkeletonEntry] = []

    def visit(body: list[ast.stmt], prefix: str, in_class: bool, depth: int) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                qual = f"{prefix}{node.name}"
                is_class = isinstance(node, ast.ClassDef)
                kind = "class" if is_class else ("method" if in_class else "function")
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                entries.append(
                    SkeletonEntry(
                        kind,
                        node.name,
                        qual,
                        f"{'class' if is_class else 'def'} {node.name}",
                        start,
                        node.end_lineno or node.lineno,
                        None,
                        (),
                        depth,
                    )
                )
                visit(node.body, qual + ".", is_class, depth + 1)
            elif isinstance(node, ast.Assign) and not prefix:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        entries.append(
                            SkeletonEntry(
                                "constant",
                                target.id,
                                target.id,
                                f"{target.id} = ...",
                                node.lineno,
                                node.end_lineno or node.lineno,
                            )
                        )

    visit(tree.body, "", False, 0)
    return Skeleton(path, "ast", False, None, tuple(entries), len(source.encode()))


def skeletons_of(reader: FileReader) -> Callable[[str], Skeleton]:
    """``segment-relative path -> Skeleton`` over a (fake) reader, as the index expects."""

    def skeleton_of(path: str) -> Skeleton:
        try:
            return ast_skeleton(reader.read_text(path).text, path)
        except SyntaxError as e:
            raise ParseFailed(f"{path}: {e.msg}") from e

    return skeleton_of
