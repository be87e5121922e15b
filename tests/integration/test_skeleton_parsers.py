"""The two skeleton parsers on real files: they agree, they see every definition, and
Tree-sitter recovers what it can from a file with a syntax error."""

from __future__ import annotations

import ast
import shutil
import sysconfig
from pathlib import Path

import pytest

from trifecta.adapters.python_ast.parser import AstSkeletonParser
from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser
from trifecta.application.skeletons.use_cases import parse_with_fallback
from trifecta.domain.errors import ParseFailed
from trifecta.domain.model import Skeleton, SkeletonEntry

SAMPLE = '''"""Module doc.

More text.
"""
from __future__ import annotations
import functools

MAX_SIZE = 10  # a comment
__all__ = ["Message", "fetch"]
lower = 1
A = B = 2
LONG = {"k%d": %s}
if True:
    SEP: str = "/"


@functools.total_ordering
class Message(Base,
              metaclass=Meta,):
    """A message."""

    class Header:
        def get(self, key: str) -> str | None: ...

    @property
    def payload(self) -> bytes:
        return b""

    async def fetch(
        self,
        url: str,  # where
        *args: int,
        timeout: float = (1.0),
        **kw: object,
    ) -> "dict[str,  int]":
        r"""Raw \\doc."""
        def inner(x = {"a" : 1}):
            pass
        return {}


def decorated():
    pass
'''.replace("%s", " + ".join(["1"] * 60))


def entries_by_qualname(skeleton: Skeleton) -> dict[str, SkeletonEntry]:
    return {e.qualname: e for e in skeleton.entries}


@pytest.mark.parametrize("parser", [AstSkeletonParser(), TreeSitterSkeletonParser()])
def test_sample_skeleton_is_exact(parser: AstSkeletonParser | TreeSitterSkeletonParser) -> None:
    skeleton = parser.parse(SAMPLE, "pkg/mod.py")
    assert not skeleton.partial
    assert skeleton.module_doc == "Module doc."
    entries = entries_by_qualname(skeleton)
    assert [e.qualname for e in skeleton.entries] == [
        "MAX_SIZE",
        "__all__",
        "LONG",
        "SEP",
        "Message",
        "Message.Header",
        "Message.Header.get",
        "Message.payload",
        "Message.fetch",
        "Message.fetch.inner",
        "decorated",
    ]
    assert entries["MAX_SIZE"].signature == "MAX_SIZE = 10"
    assert entries["__all__"].signature == '__all__ = ["Message", "fetch"]'
    assert entries["LONG"].signature == "LONG = ..."
    assert entries["SEP"].signature == 'SEP: str = "/"'
    message = entries["Message"]
    assert message.kind == "class"
    assert message.signature == "class Message(Base, metaclass=Meta)"
    assert message.decorators == ("functools.total_ordering",)
    assert message.doc == "A message."
    assert message.line_start == SAMPLE.splitlines().index("class Message(Base,") + 1
    assert message.line_end == SAMPLE.splitlines().index("        return {}") + 1
    fetch = entries["Message.fetch"]
    assert fetch.kind == "method"
    assert fetch.depth == 1
    assert fetch.signature == (
        "async def fetch(self, url: str, *args: int, timeout: float = (1.0), **kw: object)"
        ' -> "dict[str,  int]"'
    )
    assert fetch.doc == "Raw \\doc."
    inner = entries["Message.fetch.inner"]
    assert (inner.kind, inner.depth) == ("function", 2)
    assert inner.signature == 'def inner(x = {"a" : 1})'
    assert entries["Message.payload"].decorators == ("property",)
    assert entries["Message.Header.get"].signature == "def get(self, key: str) -> str | None"
    assert entries["decorated"].kind == "function"


BROKEN = """class Good:
    def ok(self) -> int:
        return 1

def broken(:
    pass

def after(x):
    return x
"""


def test_syntax_error_ast_fails_tree_sitter_is_partial() -> None:
    with pytest.raises(ParseFailed, match=r"broken\.py:5"):
        AstSkeletonParser().parse(BROKEN, "broken.py")
    skeleton = TreeSitterSkeletonParser().parse(BROKEN, "broken.py")
    assert skeleton.partial
    names = [e.qualname for e in skeleton.entries]
    assert "Good" in names and "Good.ok" in names and "after" in names


def _stdlib_sample(limit: int) -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        p
        for p in root.rglob("*.py")
        if not {"site-packages", "test", "tests", "idle_test"} & set(p.relative_to(root).parts)
    )
    step = max(1, len(files) // limit)
    return files[::step][:limit]


@pytest.fixture(scope="module")
def stdlib_copy(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    """A few hundred standard-library files, copied to a temp dir at test time."""

    target = tmp_path_factory.mktemp("stdlib")
    root = Path(sysconfig.get_paths()["stdlib"])
    copied: list[tuple[str, str]] = []
    for source in _stdlib_sample(300):
        rel = source.relative_to(root).as_posix()
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        copied.append((rel, dest.read_text(encoding="utf-8", errors="replace")))
    assert len(copied) >= 250
    return copied


def test_parsers_agree_on_stdlib(stdlib_copy: list[tuple[str, str]]) -> None:
    exact, tolerant = AstSkeletonParser(), TreeSitterSkeletonParser()
    compared = 0
    for rel, text in stdlib_copy:
        try:
            expected = exact.parse(text, rel)
        except ParseFailed:
            continue
        got = tolerant.parse(text, rel)
        assert not got.partial, rel
        assert got.module_doc == expected.module_doc, rel
        assert got.entries == expected.entries, rel
        compared += 1
    assert compared >= 250


def test_fidelity_is_total_on_stdlib(stdlib_copy: list[tuple[str, str]]) -> None:
    exact, tolerant = AstSkeletonParser(), TreeSitterSkeletonParser()
    for rel, text in stdlib_copy:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        seen = {
            (node.lineno, node.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        for parser in (exact, tolerant):
            skeleton = parser.parse(text, rel)
            got = [(e.line_start, e.name) for e in skeleton.entries if e.kind != "constant"]
            assert set(got) == seen, (parser.name, rel)
            assert len(got) == len(seen) or len(set(got)) < len(got)


BROKEN_METHOD = '''"""Mod doc."""
import os

X = 1

class Service:
    """Doc."""

    def first(self) -> int:
        return 1

    def broken(self:
        x = [1, 2
        return x

    @property
    def third(self, y: str) -> str:
        """Has a def inside:
def fake():
        """
        return y

    class Inner:
        def deep(self): ...

Y = 2

def after(x):
    return x
'''


def test_one_broken_method_costs_one_method_not_the_rest_of_the_file() -> None:
    skeleton = TreeSitterSkeletonParser().parse(BROKEN_METHOD, "m.py")
    assert skeleton.partial
    assert skeleton.module_doc == "Mod doc."
    got = [(e.kind, e.qualname, e.line_start, e.depth) for e in skeleton.entries]
    assert got == [
        ("constant", "X", 4, 0),
        ("class", "Service", 6, 0),
        ("method", "Service.first", 9, 1),
        ("method", "Service.broken", 12, 1),
        ("method", "Service.third", 17, 1),
        ("class", "Service.Inner", 23, 1),
        ("method", "Service.Inner.deep", 24, 2),
        ("constant", "Y", 26, 0),
        ("function", "after", 28, 0),
    ]
    entries = entries_by_qualname(skeleton)
    assert entries["Service"].line_end == 24
    assert entries["Service.third"].decorators == ("property",)
    assert entries["Service.third"].doc == "Has a def inside:"
    assert entries["Service.third"].signature == "def third(self, y: str) -> str"
    assert entries["Service.broken"].signature == "def broken(self"


@pytest.mark.parametrize(
    "source",
    [
        "(",
        "def",
        "class :",
        '"""unterminated',
        "@deco\n",
        "    x = 1\n",
        "def f(:\n\tpass\n\x0c",
        "# only a comment\n)",
        "\n\n\n)",
        "def f(x='''\n",
        "class A:\n    def m(self):\n        return (\n\n\nclass B: pass\n",
    ],
)
def test_the_real_fallback_survives_any_garbage(source: str) -> None:
    with pytest.raises(ParseFailed):
        AstSkeletonParser().parse(source, "g.py")
    skeleton = parse_with_fallback(AstSkeletonParser(), TreeSitterSkeletonParser(), source, "g")
    assert skeleton.partial and skeleton.parser == "tree_sitter"
    assert all(e.line_start >= 1 and e.line_end >= e.line_start for e in skeleton.entries)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def broken(:\n    pass\n\ndef ok(a, b=1) -> int:\n    return a\n", "def broken("),
        ("class A:\n    def m(self,\n        return 1\n    def n(self): ...\n", "def m(self,"),
        ("def broken(:\n    pass", "def broken("),
    ],
)
def test_unclosed_parameters_never_leak_the_body_into_the_signature(
    source: str, expected: str
) -> None:
    skeleton = TreeSitterSkeletonParser().parse(source, "x.py")
    assert skeleton.partial
    signatures = [e.signature for e in skeleton.entries]
    assert expected in signatures, signatures
    assert not any("pass" in s or "return" in s for s in signatures)
    assert "def ok(a, b=1) -> int" in signatures or "def ok" not in source
