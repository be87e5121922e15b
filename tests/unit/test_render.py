"""Rendering skeletons as Python stubs."""

from __future__ import annotations

from trifecta.application.skeletons.stub import render_stub
from trifecta.domain.model import Skeleton, SkeletonEntry


def entry(kind: str, qual: str, sig: str, lines: tuple[int, int], **kw: object) -> SkeletonEntry:
    name = qual.rsplit(".", 1)[-1]
    return SkeletonEntry(kind, name, qual, sig, lines[0], lines[1], depth=qual.count("."), **kw)  # type: ignore[arg-type]


SKELETON = Skeleton(
    path="m.py",
    parser="ast",
    partial=False,
    module_doc="Module doc.",
    entries=(
        entry("constant", "MAX", "MAX = 10", (3, 3)),
        entry(
            "class",
            "A",
            "class A(B)",
            (6, 20),
            doc="A thing.",
            decorators=("dataclass(frozen=True)",),
        ),
        entry("method", "A.f", "def f(self) -> int", (9, 10)),
        entry("method", "A.g", "async def g(self)", (12, 20), doc='Has """quotes"""'),
        entry("function", "A.g.inner", "def inner()", (14, 15)),
        entry("class", "Empty", "class Empty", (22, 22)),
    ),
    source_bytes=500,
)


def test_stub_reads_like_python() -> None:
    assert render_stub(SKELETON) == (
        '"""Module doc."""\n'
        "MAX = 10  # L3\n"
        "@dataclass(frozen=True)\n"
        "class A(B):  # L6-20\n"
        '    """A thing."""\n'
        "    def f(self) -> int: ...  # L9-10\n"
        "    async def g(self):  # L12-20\n"
        '        """Has \\"\\"\\"quotes\\"\\"\\""""\n'
        "        def inner(): ...  # L14-15\n"
        "class Empty: ...  # L22\n"
    )


def test_without_line_numbers_and_partial_header() -> None:
    partial = Skeleton("m.py", "tree_sitter", True, None, SKELETON.entries[:1], 10)
    assert render_stub(partial, line_numbers=False) == (
        "# partial: recovered by tree_sitter from a file that does not parse\nMAX = 10\n"
    )


def test_empty_skeleton_renders_empty() -> None:
    assert render_stub(Skeleton("m.py", "ast", False, None, (), 0)) == ""
