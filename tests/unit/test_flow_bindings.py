"""Flow-dependent bindings: the fallback answers the binding that provably reaches a use,
or every binding that can reach it as candidates marked ambiguous (nearest above first),
never one of several as if it were certain. Through the position use case with our fakes;
the expected lines are written by hand from ``tests/fixtures/flow_shapes.py``."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock, FakeFileReader, FakeTelemetrySink, skeletons_of
from tests.fixtures.flow_shapes import SHAPES
from trifecta.application.symbols.flow import ENTRY, KILL, reaching, statements
from trifecta.application.symbols.index import SymbolIndex
from trifecta.application.symbols.pytext import inner_binding, statement_starts
from trifecta.application.symbols.use_cases import ResolvePosition, SymbolRequest
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.model import Resolution

PATH = "pkg/shapes.py"


def ask(line: int, text: str, nth: int = 0) -> Resolution:
    """The fallback's answer for ``text`` as written on ``line`` (its ``nth`` occurrence)."""

    reader = FakeFileReader({"pkg/__init__.py": "", PATH: SHAPES})
    clock = FakeClock(step_ns=1_000_000)
    telemetry = TelemetryService(FakeTelemetrySink(), clock, "seg")
    index = SymbolIndex(reader, skeletons_of(reader))
    source = SHAPES.splitlines()[line - 1]
    column = -1
    for _ in range(nth + 1):
        column = source.index(text, column + 1)
    request = SymbolRequest(f"{PATH}:{line}:{column + 1}")
    return ResolvePosition(None, index, reader, telemetry, clock).execute(request)


def lines_of(res: Resolution) -> list[int | str]:
    return [f"external:{m.module}" if m.external else m.line for m in res.matches]


@pytest.mark.parametrize(
    ("line", "text", "nth", "expected"),
    [
        (12, "single", 0, [10]),  # bound once above, read in an arm
        (27, "seen", 0, [26]),  # a for/else without break: the else's binding
        (31, "total", 0, [29]),  # the only binding, reached through break
        (33, "stream", 0, [32]),  # the first with item
        (33, "copy", 0, [32]),  # the second with item (not ``open``)
        (34, "text", 0, [33]),  # a with block runs in order
        (43, "done", 0, [41]),  # before a return in an arm
        (45, "done", 0, [44]),  # the arm returned: only the rebinding reaches
        (49, "gone", 0, [48]),  # del, then bound again
        (50, "item", 0, [50]),  # a comprehension's own target
        (51, "item", 1, [51]),  # a lambda's parameter, on itself
        (51, "item", 2, [51]),  # ... and used in its body
        (54, "count", 0, [53]),  # an augmented assignment rebinds
        (81, "LIMIT", 0, [77]),  # a module-level redefinition, straight line
        (94, "Hooks", 0, [88]),  # a class rebound by a call opening a bracket
    ],
)
def test_the_one_binding_that_reaches_is_a_confident_scope_answer(
    line: int, text: str, nth: int, expected: list[int]
) -> None:
    res = ask(line, text, nth)
    assert lines_of(res) == expected, res
    assert not res.ambiguous and res.evidence == "scope", res


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        (9, "value", [8, 6]),  # if/else arms
        (15, "other", [14, 4]),  # an if without else: the parameter too
        (20, "parsed", [19, 17]),  # try/except
        (23, "seen", [21, 24]),  # a loop body: the binding below, next iteration
        (40, "kind", [39, 37]),  # match arms (``case _`` covers the rest)
        (59, "codec", [58, "external:json"]),  # a conditional import
        (69, "json", [65, "external:json"]),  # try/except import, read from a function
        (81, "SEP", [75, 73]),  # module-level if/else
    ],
)
def test_several_reaching_bindings_are_ambiguous_candidates_nearest_first(
    line: int, text: str, expected: list[int | str]
) -> None:
    res = ask(line, text)
    assert lines_of(res) == expected, res
    assert res.ambiguous and res.evidence == "scope", res


def test_the_cursor_on_a_binding_answers_that_binding() -> None:
    res = ask(8, "value")
    assert lines_of(res) == [8] and not res.ambiguous


def test_a_with_item_target_does_not_hide_a_builtin() -> None:
    res = ask(32, "open", 1)  # ``... as stream, open(other)``: the builtin
    assert lines_of(res) == ["external:builtins"] and not res.ambiguous


def test_comprehension_first_iterable_is_read_outside() -> None:
    source = "def f(xs):\n    x = 1\n    return [x for x in xs], [x for x in x]\n"
    lines = source.splitlines()
    body = statements(lines, statement_starts(lines), 2, 3)
    assert reaching(body, {2: "bind"}, 3, lines) == frozenset({2})
    reader = FakeFileReader({"m.py": source})
    clock = FakeClock(step_ns=1_000_000)
    telemetry = TelemetryService(FakeTelemetrySink(), clock, "seg")
    position = ResolvePosition(
        None, SymbolIndex(reader, skeletons_of(reader)), reader, telemetry, clock
    )
    last = position.execute(SymbolRequest("m.py:3:41"))  # the final ``x``: the local
    assert [(m.line, m.column) for m in last.matches] == [(2, 5)]
    inner = position.execute(SymbolRequest("m.py:3:13"))  # ``[x for x in xs]``'s element
    assert [(m.line, m.column) for m in inner.matches] == [(3, 19)]


TRY = "a = 0\ntry:\n    a = 1\n    f()\nexcept E:\n    g(a)\nelse:\n    a = 2\nfinally:\n    h(a)\n"


@pytest.mark.parametrize(
    ("source", "binds", "use", "expected"),
    [
        # while True leaves only through break
        (
            "while True:\n    a = 1\n    if a:\n        break\n    a = 2\nuse(a)\n",
            {2: "bind", 5: "bind"},
            6,
            {2},
        ),
        # try/else/finally: the handler starts anywhere in the body
        (
            TRY,
            {1: "bind", 3: "bind", 8: "bind"},
            6,
            {1, 3},
        ),
        (
            TRY,
            {1: "bind", 3: "bind", 8: "bind"},
            10,
            {1, 3, 8},
        ),
        # continue carries its state to the next iteration
        (
            "for i in x:\n    if i:\n        a = 1\n        continue\n    use(a)\n",
            {3: "bind"},
            5,
            {ENTRY, 3},
        ),
        # del unbinds: nothing of before reaches
        ("a = 1\nif c:\n    del a\nuse(a)\n", {1: "bind", 3: KILL}, 4, {1}),
        ("a = 1\ndel a\nuse(a)\n", {1: "bind", 2: KILL}, 3, set()),
        # a one-line arm
        ("a = 1\nif c: a = 2\nuse(a)\n", {1: "bind", 2: "bind"}, 3, {1, 2}),
        ("a = 1\nif c: return\nuse(a)\n", {1: "bind"}, 3, {1}),
        # elif chains without else keep the state before
        (
            "if c:\n    a = 1\nelif d:\n    a = 2\nuse(a)\n",
            {2: "bind", 4: "bind"},
            5,
            {ENTRY, 2, 4},
        ),
        # ``match`` as a name is no statement
        ("match = 1\nmatch.x = 2\nuse(match)\n", {1: "bind"}, 3, {1}),
    ],
)
def test_reaching_bindings_by_shape(
    source: str, binds: dict[int, str], use: int, expected: set[int]
) -> None:
    lines = source.splitlines()
    body = statements(lines, statement_starts(lines), 1, len(lines))
    assert reaching(body, binds, use, lines) == frozenset(expected)


def test_end_of_scope_state() -> None:
    source = "try:\n    import a\nexcept E:\n    a = None\nb = 1\n"
    lines = source.splitlines()
    body = statements(lines, statement_starts(lines), 1, len(lines))
    assert reaching(body, {2: "bind", 4: "bind"}, None, lines) == frozenset({2, 4})


ATTRS = """\
class Loader:
    cache = None

    def __init__(self):
        self.size = 0

    def load(self):
        self.cache = {}
        self.size += 1
        return self.cache, self.size


class Request:
    def prepare(self):
        return Prepared()


class Prepared:
    body = b""


def send():
    ready = Request().prepare()
    plain = Request()
    return ready.body, plain.prepare
"""


def test_class_values_rebound_on_the_instance_are_ambiguous() -> None:
    reader = FakeFileReader({"net.py": ATTRS})
    clock = FakeClock(step_ns=1_000_000)
    telemetry = TelemetryService(FakeTelemetrySink(), clock, "seg")
    index = SymbolIndex(reader, skeletons_of(reader))
    position = ResolvePosition(None, index, reader, telemetry, clock)
    # ``self.cache``: the class-level None or what load() stored: both, instance first
    cache = position.execute(SymbolRequest("net.py:10:21"))
    assert [m.line for m in cache.matches] == [8, 2] and cache.ambiguous
    # ``self.size``: only ever bound on the instance (``+=`` included): the first one
    size = position.execute(SymbolRequest("net.py:10:33"))
    assert [m.line for m in size.matches] == [5] and not size.ambiguous
    # ``Request().prepare()`` is not a Request (its type is not read from a call chain):
    # ``ready.body`` is a search by name, said so, never Request's member
    body = position.execute(SymbolRequest("net.py:25:18"))
    assert [m.line for m in body.matches] == [19]
    assert body.ambiguous and body.evidence == "name_only"
    # ``Request()`` alone is one
    prepare = position.execute(SymbolRequest("net.py:25:30"))
    assert [m.line for m in prepare.matches] == [14] and not prepare.ambiguous


def test_a_package_stub_that_re_exports_from_elsewhere_lists_both() -> None:
    """``lib/__init__.py`` imports its own ``tools``; its stub ``lib/__init__.pyi`` says
    ``tools`` is ``core.tools``: type checkers read the stub, Python the module."""

    files = {
        "lib/__init__.py": "from . import tools\n",
        "lib/__init__.pyi": "from core import tools as tools\n",
        "lib/tools.py": "from core.tools import *\n",
        "core/__init__.py": "",
        "core/tools.py": "def run():\n    return 1\n",
        "app.py": "import lib\nfrom lib import tools\nlib.tools.run()\n",
    }
    reader = FakeFileReader(files)
    clock = FakeClock(step_ns=1_000_000)
    telemetry = TelemetryService(FakeTelemetrySink(), clock, "seg")
    position = ResolvePosition(
        None, SymbolIndex(reader, skeletons_of(reader)), reader, telemetry, clock
    )
    for query in ("app.py:3:5", "app.py:2:17"):  # ``lib.tools`` and ``from lib import tools``
        res = position.execute(SymbolRequest(query))
        assert [(m.path, m.line) for m in res.matches] == [
            ("core/tools.py", 1),
            ("lib/tools.py", 1),
        ], query
        assert res.ambiguous and res.evidence == "import", query


@pytest.mark.parametrize(
    ("text", "use", "name", "target"),
    [
        # each lambda of a call binds its own parameters
        ("x = f(eq=lambda a, b: a == b, lt=lambda a, b: a < b)", "a < b", "a", "lambda a, b: a <"),
        (
            "x = f(eq=lambda a, b: a == b, lt=lambda a, b: a < b)",
            "a == b",
            "a",
            "lambda a, b: a ==",
        ),
        (
            "t = (\n    lambda s: s.upper(),\n    lambda s: s + g(s),\n)",
            "s + g",
            "s",
            "lambda s: s +",
        ),
        # nested comprehensions: the innermost that binds the name
        ("y = [[c for c in row] for row in rows]", "c for c", "c", "for c in"),
        ("y = [[c for c in row] for row in rows]", "row]", "row", "for row in"),
    ],
)
def test_inner_bindings_of_lambdas_and_comprehensions(
    text: str, use: str, name: str, target: str
) -> None:
    found = inner_binding(text, text.index(use), name)
    expected = text.index(target) + target.index(f" {name}") + 1
    assert found is not None and found[0] == expected, (found, expected)


def test_a_name_outside_any_lambda_or_comprehension_is_not_inner() -> None:
    text = "x = f(key=lambda a: a) + a"
    assert inner_binding(text, len(text) - 1, "a") is None
    assert inner_binding("z = [c for c in cs] + [c]", 23, "c") is None
