"""The ast-first / Tree-sitter-on-ParseFailed policy, as a table of cases on fakes."""

from __future__ import annotations

import pytest

from tests.fakes import FakeSkeletonParser
from trifecta.application.skeletons.use_cases import parse_with_fallback
from trifecta.domain.errors import ParseFailed
from trifecta.domain.model import Skeleton
from trifecta.domain.ports import SkeletonParser

GOOD = "class A\n    def f\n"
BROKEN = "class A\n    def f\n!error\ndef g\n"


class ExplodingParser(FakeSkeletonParser):
    """A parser with a bug: it raises something that is not ParseFailed."""

    def parse(self, source: str, path: str) -> Skeleton:
        raise KeyError("bug")


class AlwaysFails(FakeSkeletonParser):
    def parse(self, source: str, path: str) -> Skeleton:
        raise ParseFailed(f"{path}: {self.name} cannot parse")


# (case, source, fallback, expected parser | exception, expected partial, expected qualnames)
CASES: list[tuple[str, str, SkeletonParser | None, str | type[Exception], bool, list[str]]] = [
    ("primary parses", GOOD, FakeSkeletonParser("tree_sitter", strict=False), "ast", False,
     ["A", "A.f"]),
    ("syntax error -> fallback, partial", BROKEN, FakeSkeletonParser("tree_sitter", strict=False),
     "tree_sitter", True, ["A", "A.f", "g"]),
    ("syntax error, no fallback", BROKEN, None, ParseFailed, False, []),
    ("syntax error, fallback fails too", BROKEN, AlwaysFails("tree_sitter"), ParseFailed, False,
     []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "source", "fallback", "expected", "partial", "names"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_policy_table(
    case: str,
    source: str,
    fallback: SkeletonParser | None,
    expected: str | type[Exception],
    partial: bool,
    names: list[str],
) -> None:
    primary = FakeSkeletonParser("ast", strict=True)
    if isinstance(expected, type):
        with pytest.raises(expected):
            parse_with_fallback(primary, fallback, source, "m.py")
        return
    skeleton = parse_with_fallback(primary, fallback, source, "m.py")
    assert skeleton.parser == expected
    assert skeleton.partial is partial
    assert [e.qualname for e in skeleton.entries] == names


def test_fallback_is_not_called_when_the_primary_parses() -> None:
    fallback = FakeSkeletonParser("tree_sitter", strict=False)
    parse_with_fallback(FakeSkeletonParser("ast"), fallback, GOOD, "m.py")
    assert fallback.parsed == []


def test_fallback_that_sees_no_error_is_still_partial() -> None:
    # The exact parser failed, so the answer may be incomplete whatever the fallback says.
    lenient = FakeSkeletonParser("tree_sitter", strict=False)
    strict_on_other = AlwaysFails("ast")
    skeleton = parse_with_fallback(strict_on_other, lenient, GOOD, "m.py")
    assert skeleton.partial and skeleton.parser == "tree_sitter"


def test_both_errors_are_named_when_both_fail() -> None:
    with pytest.raises(ParseFailed, match="tree_sitter failed too"):
        parse_with_fallback(AlwaysFails("ast"), AlwaysFails("tree_sitter"), GOOD, "m.py")


def test_bugs_are_not_swallowed() -> None:
    with pytest.raises(KeyError):
        parse_with_fallback(ExplodingParser("ast"), FakeSkeletonParser("tree_sitter"), GOOD, "m")
