"""The fallback's scoping rules on real files and the real skeleton parsers, through the
embedding API with the language server off: every answer checked against where Python
itself would find the name (expected positions written by hand)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from trifecta.api import Segment
from trifecta.domain.model import Resolution

BASE = textwrap.dedent(
    """\
    from typing import overload


    class Base:
        kind = "base"

        def __init__(self):
            self.closed = False

        def run(self):
            return 1

        @property
        def size(self):
            return 1

        @size.setter
        def size(self, value):
            self._size = value

        @overload
        def get(self, key: int) -> int: ...
        @overload
        def get(self, key: str) -> str: ...
        def get(self, key):
            return key


    def command(name):
        return name
    """
)
CORE = textwrap.dedent(
    """\
    import os
    from pkg.base import Base, command as make_command
    from pkg.extras import *


    class Result:
        output: str
        exit_code: int = 0


    class Group(Base):
        label: str

        def __init__(self):
            super().__init__()
            self.label = "g"
            self.result = Result()

        def command(self, name):
            return make_command(name)

        def run(self):
            self.closed = True
            return super().run() + self.size

        def invoke(self) -> Result:
            return self.result


    def outer(value):
        from pkg.base import command

        def inner():
            return command(value)

        value = value + 1
        return inner


    def use(group: Group, thing):
        result = group.invoke()
        text = result.output
        joined = b"".join([])
        env = os.environ.get("HOME")
        group.get(1)
        Group.run(group)
        helper()
        return thing.closed, len(text), joined, env, result.exit_code, group.label
    """
)
EXTRAS = "def helper():\n    return 2\n\n\nclass Other:\n    closed = True\n"
FILES = {
    "pkg/__init__.py": "",
    "pkg/base.py": BASE,
    "pkg/core.py": CORE,
    "pkg/extras.py": EXTRAS,
}


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Segment:
    root = tmp_path_factory.mktemp("scopes")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return Segment(root, {"telemetry": {"level": "off"}})


def at(segment: Segment, path: str, line: int, text: str, nth: int = 0) -> Resolution:
    """Ask for the definition of ``text`` as written on ``line`` (its ``nth`` occurrence)."""

    source = (Path(segment.root) / path).read_text().splitlines()[line - 1]
    column = -1
    for _ in range(nth + 1):
        column = source.index(text, column + 1)
    return segment.definition(f"{path}:{line}:{column + 1}", no_lsp=True)


def first(res: Resolution) -> tuple[str, int, str | None]:
    m = res.matches[0]
    return (m.path, m.line, m.qualname)


CASES = [
    # (line in pkg/core.py, text, expected (path, line), evidence)
    (20, "make_command", ("pkg/base.py", 29), "import"),  # alias, not Group.command
    (15, "__init__", ("pkg/base.py", 7), "receiver"),  # super() -> the base
    (24, "run", ("pkg/base.py", 10), "receiver"),  # super().run
    (23, "closed", ("pkg/core.py", 23), "receiver"),  # the class's own self.x first
    (24, "size", ("pkg/base.py", 14), "receiver"),  # a property: the getter
    (17, "result", ("pkg/core.py", 17), "receiver"),  # on the assignment itself
    (27, "result", ("pkg/core.py", 17), "receiver"),  # instance attribute
    (34, "command", ("pkg/base.py", 29), "import"),  # an enclosing function's import
    (41, "invoke", ("pkg/core.py", 26), "receiver"),  # an annotated parameter
    (42, "output", ("pkg/core.py", 7), "receiver"),  # return annotation -> class annotation
    (48, "exit_code", ("pkg/core.py", 8), "receiver"),
    (48, "label", ("pkg/core.py", 16), "receiver"),  # self.label = beats label: str
    (45, "get", ("pkg/base.py", 25), "receiver"),  # the implementation, not an overload
    (46, "run", ("pkg/core.py", 22), "receiver"),  # ClassName.attr
    (47, "helper", ("pkg/extras.py", 1), "import"),  # a star import of a segment module
    (42, "result", ("pkg/core.py", 41), "scope"),  # a local
]


@pytest.mark.parametrize(("line", "text", "expected", "evidence"), CASES)
def test_scoping_rules(
    segment: Segment, line: int, text: str, expected: tuple[str, int], evidence: str
) -> None:
    res = at(segment, "pkg/core.py", line, text)
    assert first(res)[:2] == expected, res
    assert res.evidence == evidence and not res.ambiguous, res


def test_a_closure_may_see_a_later_binding(segment: Segment) -> None:
    # ``inner`` runs after ``value = value + 1``: the parameter (above its ``def``) first,
    # the later binding listed, and the answer says it is not sure
    res = at(segment, "pkg/core.py", 34, "value")
    assert [(m.path, m.line) for m in res.matches] == [("pkg/core.py", 30), ("pkg/core.py", 36)]
    assert res.ambiguous and res.evidence == "scope"


def test_a_rebinding_uses_the_binding_above_it(segment: Segment) -> None:
    assert first(at(segment, "pkg/core.py", 36, "value"))[:2] == ("pkg/core.py", 36)
    assert first(at(segment, "pkg/core.py", 36, "value", nth=1))[:2] == ("pkg/core.py", 30)


def test_overloads_and_property_accessors_are_listed(segment: Segment) -> None:
    get = at(segment, "pkg/core.py", 45, "get")
    assert get.matches[0].related_lines == (22, 24)
    size = at(segment, "pkg/core.py", 24, "size")
    assert size.matches[0].related_lines == (18,)


def test_externals_and_builtins(segment: Segment) -> None:
    joined = at(segment, "pkg/core.py", 43, "join(")
    m = joined.matches[0]
    assert (m.external, m.module, m.qualname, joined.evidence) == (
        True,
        "builtins",
        "bytes.join",
        "receiver",
    )
    env = at(segment, "pkg/core.py", 44, "get")
    m = env.matches[0]
    assert (m.external, m.module, m.qualname, env.evidence) == (
        True,
        "os",
        "environ.get",
        "import",
    )
    length = at(segment, "pkg/core.py", 48, "len")
    m = length.matches[0]
    assert (m.external, m.module, m.qualname, length.evidence) == (True, "builtins", "len", "scope")
    assert m.path == ""
    # found through the searched file, whose skeleton ``ast`` built
    assert (length.resolved_by, length.fallback_reason) == ("ast", "lsp_disabled")


def test_unknown_receiver_is_never_a_confident_namesake(segment: Segment) -> None:
    # ``thing`` has no annotation: its ``closed`` could be Base's, Group's or Other's; the
    # name table lists instance attributes (self.closed = ...) and class-body names too
    res = at(segment, "pkg/core.py", 48, "closed")
    assert res.evidence == "name_only" and res.ambiguous
    assert {(m.path, m.line) for m in res.matches} == {
        ("pkg/base.py", 8),
        ("pkg/core.py", 23),
        ("pkg/extras.py", 6),
    }
