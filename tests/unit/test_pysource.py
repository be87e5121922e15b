"""The shared source-text scanner that makes both skeleton parsers agree."""

from __future__ import annotations

import pytest

from trifecta.domain.pysource import (
    LineIndex,
    constant_signature,
    first_doc_line,
    prepare_source,
    scan_header,
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(self, x: int = 1) -> str:\n    pass", "def f(self, x: int = 1) -> str"),
        ("async  def f( a ,b ) :", "async def f(a, b)"),
        ("def f(\n    a,  # comment\n    b: Dict[\n  str, int],\n) -> None:", None),
        ("class A(B,\n metaclass = M,):", "class A(B, metaclass = M)"),
        ("class A:", "class A"),
        ('def f(x="a:  ,b#") -> "X":', 'def f(x="a:  ,b#") -> "X"'),
        ("def f(x=(1,)):", "def f(x=(1,))"),
        ("def f(x=lambda: 1):", "def f(x=lambda: 1)"),
        ("def f(a, \\\n b):", "def f(a, b)"),
        ("def f(a,b=[1 ,2]):", "def f(a, b=[1, 2])"),
    ],
)
def test_headers_are_normalised(source: str, expected: str | None) -> None:
    text, stop = scan_header(source, 0, header=True)
    if expected is None:
        expected = "def f(a, b: Dict[str, int]) -> None"
    assert text == expected
    assert source[stop] == ":"


def test_one_line_fast_path_equals_general_scan() -> None:
    # The same header once on one line (fast path) and once split (general scan).
    one = scan_header("def f(a:int,  b=[1 ,2]) ->  X:", 0, True)[0]
    split = scan_header("def f(a:int,\n  b=[1 ,2]) ->  X:", 0, True)[0]
    assert one == split == "def f(a:int, b=[1, 2]) -> X"


def test_statement_scan_stops_at_end_of_statement() -> None:
    source = "X = {\n 1: 2,  # c\n 3: '#'}; Y = 2\nZ = 3\n"
    text, stop = scan_header(source, 0, header=False)
    assert text == "X = {1: 2, 3: '#'}"
    assert source[stop] == ";"


def test_unterminated_string_does_not_hang() -> None:
    text, _ = scan_header('def f(x="abc):\n', 0, header=True)
    assert text.startswith("def f(x=")


def test_line_index_maps_utf8_byte_columns() -> None:
    source = "a = 'é'; b = 1\nc = 2\n"
    index = LineIndex(source)
    assert source[index.offset(1, len("a = 'é'; ".encode()))] == "b"
    assert index.offset(2, 0) == source.index("c")
    assert index.line_of(source.index("c")) == 2
    assert index.line_of(0) == 1


def test_prepare_source_normalises_newlines_and_bom() -> None:
    assert prepare_source("\ufeffa\r\nb\rc") == "a\nb\nc"


def test_long_constants_are_shortened_but_all_is_kept() -> None:
    long = "X: int = " + "1 + " * 40 + "1"
    assert constant_signature("X", long) == "X: int = ..."
    names = "__all__ = [" + ", ".join(f'"n{i}"' for i in range(40)) + "]"
    assert constant_signature("__all__", names) == names


def test_first_doc_line() -> None:
    assert first_doc_line("\n   First line.\n  second") == "First line."
    assert first_doc_line("  \n ") is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def broken(:\n    pass\n", "def broken("),
        ("def broken(:\n    pass", "def broken("),
        ("def f(a,\n      b:\n    return a\n", "def f(a,"),
        ("async def g(x, \\\n  y\n    pass\n", "async def g(x, y"),
        ("class C(Base:\n    x = 1\n", "class C(Base"),
    ],
)
def test_unclosed_header_stops_at_the_end_of_its_logical_line(source: str, expected: str) -> None:
    text, stop = scan_header(source, 0, header=True)
    assert text == expected
    assert stop == len(source) or source[stop] == "\n"
    assert "pass" not in text and "return" not in text and "=" not in text


def test_line_index_read_of_an_unclosed_header_ends_on_its_line() -> None:
    index = LineIndex("def broken(:\n    pass\n")
    assert index.read(1, 0, True) == ("def broken(", 1)
