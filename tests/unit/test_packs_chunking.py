"""Chunking: Markdown sections, Python top-level definitions, ids."""

from __future__ import annotations

from tests.fakes import FakeSkeletonParser
from trifecta.application.packs.chunking import (
    IdAllocator,
    chunk_markdown,
    chunk_python,
    chunk_text_file,
    encode_id_path,
    extend_over_decorators,
    slugify,
)
from trifecta.domain.model import Skeleton, SkeletonEntry

GUIDE = """Intro line.

# Guide

Some text.

## Installation

```sh
# not a heading
pip install x
```

## Installation

Again.
"""


def test_markdown_sections_keep_the_title_path_and_lines() -> None:
    docs = chunk_markdown("docs/guide.md", GUIDE)
    ids = [d.chunk.id for d in docs]
    assert ids == [
        "docs/guide.md",
        "docs/guide.md#guide",
        "docs/guide.md#installation",
        "docs/guide.md#installation-2",
    ]
    install = docs[2].chunk
    assert install.title_path == ("Guide", "Installation")
    assert (install.line_start, install.line_end) == (7, 12)
    assert install.kind == "section"
    assert docs[0].chunk.kind == "document"


def test_slugs_and_ids_never_contain_commas() -> None:
    assert slugify("Hello, World!") == "hello-world"
    docs = chunk_markdown("a,b.md", "# x\n")
    assert all("," not in d.chunk.id for d in docs)


PY = """\"\"\"Module doc.\"\"\"
import os

X = 1


# A comment about the service.
@decorator
@other(
    arg=1,
)
class ContextService:
    def run(self):
        return os.getcwd()


def helper():
    pass


def helper():
    pass
"""


def _skeleton() -> Skeleton:
    entries = (
        SkeletonEntry(
            "class",
            "ContextService",
            "ContextService",
            "class ContextService",
            12,
            14,
            None,
            ("decorator", "other(arg=1)"),
            0,
        ),
        SkeletonEntry("method", "run", "ContextService.run", "def run(self)", 13, 14, None, (), 1),
        SkeletonEntry("function", "helper", "helper", "def helper()", 17, 18),
        SkeletonEntry("function", "helper", "helper", "def helper()", 21, 22),
    )
    return Skeleton("src/context_service.py", "ast", False, "Module doc.", entries, len(PY))


def test_python_chunks_are_top_level_definitions_plus_a_module_chunk() -> None:
    docs = chunk_python("src/context_service.py", PY, _skeleton())
    by_id = {d.chunk.id: d for d in docs}
    assert list(by_id) == [
        "src/context_service.py",
        "src/context_service.py#ContextService",
        "src/context_service.py#helper",
        "src/context_service.py#helper-2",
    ]
    cls = by_id["src/context_service.py#ContextService"].chunk
    # Extended over the comment block and both decorators (one of them multi-line).
    assert (cls.line_start, cls.line_end) == (7, 14)
    assert cls.symbols == ("ContextService", "ContextService.run")
    module = by_id["src/context_service.py"]
    assert module.chunk.kind == "module"
    assert (module.chunk.line_start, module.chunk.line_end) == (1, 22)
    assert "import" in module.body_terms and "getcwd" not in module.body_terms
    assert module.preview == "Module doc."


def test_decorator_extension_stops_at_the_decorator_count() -> None:
    lines = ["@a\n", "@b\n", "def f():\n", "    pass\n"]
    entry = SkeletonEntry("function", "f", "f", "def f()", 3, 4, None, ("b",), 0)
    assert extend_over_decorators(lines, entry) == 2


def test_unparseable_python_is_one_module_chunk() -> None:
    docs = chunk_python("bad.py", "def (:\n", None)
    assert [d.chunk.id for d in docs] == ["bad.py"]


def test_fake_parser_feeds_chunking() -> None:
    source = "class A:\n    def m(self):\n        pass\ndef f():\n    pass\n"
    skeleton = FakeSkeletonParser().parse(source, "m.py")
    ids = [d.chunk.id for d in chunk_python("m.py", source, skeleton)]
    assert ids == ["m.py", "m.py#A", "m.py#f"]


def test_ids_percent_encode_the_path_so_distinct_paths_never_collide() -> None:
    assert encode_id_path("pkg/we,ird.py") == "pkg/we%2Cird.py"
    assert encode_id_path("a%2Cb.md") == "a%252Cb.md"  # '%' first: injective
    assert encode_id_path("pkg/we_ird.py") == "pkg/we_ird.py"
    comma = chunk_python("pkg/we,ird.py", "def f\n", _toy("def f\n"))
    under = chunk_python("pkg/we_ird.py", "def g\n", _toy("def g\n"))
    comma_ids = {d.chunk.id for d in comma}
    assert comma_ids == {"pkg/we%2Cird.py", "pkg/we%2Cird.py#f"}
    assert not comma_ids & {d.chunk.id for d in under}
    assert all(d.chunk.path == "pkg/we,ird.py" for d in comma)  # the path itself is kept


def test_a_shared_allocator_keeps_ids_unique_across_files() -> None:
    ids = IdAllocator()
    first = chunk_python("a.py", "def f\n", _toy("def f\n"), ids=ids)
    second = chunk_text_file("a.py#f", "text\n", ids=ids)
    assert "a.py#f" in {d.chunk.id for d in first}
    assert second[0].chunk.id == "a.py#f-2"
    kept = IdAllocator(["x.md#a"])
    assert chunk_markdown("x.md", "# A\n", ids=kept)[0].chunk.id == "x.md#a-2"


def _toy(source: str) -> Skeleton:
    return FakeSkeletonParser().parse(source, "x.py")
