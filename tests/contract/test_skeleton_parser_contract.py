"""The SkeletonParser contract, run against the fake and both real parsers."""

from __future__ import annotations

import pytest

from tests.fakes import FakeSkeletonParser
from trifecta.adapters.python_ast.parser import AstSkeletonParser
from trifecta.adapters.treesitter.parser import TreeSitterSkeletonParser
from trifecta.domain.errors import ParseFailed
from trifecta.domain.ports import SkeletonParser

GOOD = """\
def top(a, b=1):
    return a + b


class Outer(Base):
    def method(self, x):
        def helper():
            return x
        return helper()

    class Inner:
        def deep(self):
            pass


async def fetch(url):
    return url
"""

# (kind, qualname, line_start, depth) in source order: what every parser must report.
EXPECTED = [
    ("function", "top", 1, 0),
    ("class", "Outer", 5, 0),
    ("method", "Outer.method", 6, 1),
    ("function", "Outer.method.helper", 7, 2),
    ("class", "Outer.Inner", 11, 1),
    ("method", "Outer.Inner.deep", 12, 2),
    ("function", "fetch", 16, 0),
]

BROKEN = """\
def good():
    pass


def broken(:
    pass


class After:
    def still_here(self):
        pass
"""

STRICT = [lambda: FakeSkeletonParser(strict=True), AstSkeletonParser]
TOLERANT = [lambda: FakeSkeletonParser(name="tree_sitter", strict=False), TreeSitterSkeletonParser]


@pytest.fixture(params=[*STRICT, *TOLERANT], ids=["fake", "ast", "fake-tolerant", "tree_sitter"])
def parser(request: pytest.FixtureRequest) -> SkeletonParser:
    parser: SkeletonParser = request.param()
    return parser


@pytest.fixture(params=STRICT, ids=["fake", "ast"])
def strict_parser(request: pytest.FixtureRequest) -> SkeletonParser:
    parser: SkeletonParser = request.param()
    return parser


@pytest.fixture(params=TOLERANT, ids=["fake-tolerant", "tree_sitter"])
def tolerant_parser(request: pytest.FixtureRequest) -> SkeletonParser:
    parser: SkeletonParser = request.param()
    return parser


def test_entries_in_source_order_with_qualnames_kinds_and_lines(parser: SkeletonParser) -> None:
    skeleton = parser.parse(GOOD, "pkg/mod.py")
    got = [(e.kind, e.qualname, e.line_start, e.depth) for e in skeleton.entries]
    assert got == EXPECTED
    assert skeleton.path == "pkg/mod.py"
    assert not skeleton.partial
    assert skeleton.parser == parser.name
    assert skeleton.source_bytes == len(GOOD.encode())


def test_line_ranges_cover_the_body(parser: SkeletonParser) -> None:
    entries = {e.qualname: e for e in parser.parse(GOOD, "m.py").entries}
    assert (entries["top"].line_start, entries["top"].line_end) == (1, 2)
    assert entries["Outer"].line_end == 13
    assert entries["Outer.method"].line_end == 9


def test_signatures_have_no_body_and_no_colon(parser: SkeletonParser) -> None:
    for entry in parser.parse(GOOD, "m.py").entries:
        assert not entry.signature.endswith(":")
        assert "return" not in entry.signature
        assert entry.name in entry.signature


def test_strict_parser_raises_parse_failed(strict_parser: SkeletonParser) -> None:
    with pytest.raises(ParseFailed):
        strict_parser.parse(BROKEN, "bad.py")


def test_tolerant_parser_returns_what_it_can_marked_partial(
    tolerant_parser: SkeletonParser,
) -> None:
    skeleton = tolerant_parser.parse(BROKEN, "bad.py")
    assert skeleton.partial
    names = [e.qualname for e in skeleton.entries]
    assert "good" in names
    assert "After.still_here" in names


def test_version_is_a_nonempty_string(parser: SkeletonParser) -> None:
    assert isinstance(parser.version, str) and parser.version
