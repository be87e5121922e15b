"""Symbol resolution on fakes: the fallback policy table, the skeleton index, telemetry."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest

from tests.fakes import (
    FakeClock,
    FakeFileReader,
    FakeLanguageServer,
    FakeTelemetrySink,
    skeletons_of,
)
from trifecta.application.symbols.fallback import FALLBACK_REASONS
from trifecta.application.symbols.index import SymbolIndex
from trifecta.application.symbols.pytext import identifier_at, scan_imports
from trifecta.application.symbols.use_cases import (
    ResolvePosition,
    ResolveSelector,
    SymbolRequest,
    parse_position,
)
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import (
    FileMissing,
    LanguageServerCold,
    LanguageServerError,
    ModuleMissing,
    NotPython,
    PathOutsideSegment,
    PositionOutOfRange,
    SelectorError,
    UsageError,
)
from trifecta.domain.model import SymbolLocation
from trifecta.domain.selector import module_candidates

MOD = textwrap.dedent(
    """\
    import os
    from pkg import util
    from pkg.util import shout as loud


    class Greeter:
        def greet(self, name):
            return self.polish(helper(name))

        @staticmethod
        def polish(text):
            return loud(text)


    def helper(x):
        return util.shout(os.path.join(x, "a"))


    LIMIT = 3
    """
)
UTIL = textwrap.dedent(
    """\
    def shout(text):
        return text.upper()


    def helper(y):
        return y
    """
)
FILES = {
    "pkg/__init__.py": "from pkg.mod import Greeter\n",
    "pkg/mod.py": MOD,
    "pkg/util.py": UTIL,
    "src/lib/core.py": "class Engine:\n    def run(self):\n        return 1\n",
    "app.py": "from pkg.mod import helper\nfrom pkg import Greeter\n\nhelper('a')\nGreeter()\n",
}


def loc(path: str, line: int, column: int) -> SymbolLocation:
    return SymbolLocation(path, line, column, line)


class World:
    def __init__(self, behaviour: str = "ok", lsp: bool = True, needs_ms: int = 0) -> None:
        self.reader = FakeFileReader(FILES)
        self.sink = FakeTelemetrySink()
        self.clock = FakeClock(step_ns=1_000_000)
        self.telemetry = TelemetryService(self.sink, self.clock, "seg")
        self.index = SymbolIndex(self.reader, skeletons_of(self.reader))
        # pyright's answers: `helper` used in app.py line 4 col 1 -> pkg/mod.py 15:5
        self.server = FakeLanguageServer(
            definitions={("app.py", 4, 1): [loc("pkg/mod.py", 15, 5)]},
            symbols={
                "pkg/mod.py": [
                    SymbolLocation("pkg/mod.py", 6, 7, 12, "class", "Greeter"),
                    SymbolLocation("pkg/mod.py", 7, 9, 8, "method", "Greeter.greet"),
                ]
            },
            behaviour=behaviour,
            needs_ms=needs_ms,
        )
        lsp_port = self.server if lsp else None
        self.selector = ResolveSelector(lsp_port, self.index, self.telemetry, self.clock)
        self.position = ResolvePosition(
            lsp_port, self.index, self.reader, self.telemetry, self.clock
        )

    def events(self, cmd: str) -> list[dict[str, Any]]:
        return [e for e in self.sink.events if e["cmd"] == cmd]


# ---- the fallback policy, as a table ------------------------------------------------------

POLICY_TABLE = [
    # behaviour, use_lsp, resolved_by, fallback_reason
    ("ok", True, "lsp", None),
    ("ok", False, "ast", "lsp_disabled"),
    ("unavailable", True, "ast", "lsp_unavailable"),
    ("cold", True, "ast", "lsp_cold"),
    ("crashed", True, "ast", "lsp_crashed"),
    ("not_ready", True, "ast", "lsp_not_ready"),
    ("timeout", True, "ast", "lsp_timeout"),
    ("error", True, "ast", "lsp_error"),
    ("empty", True, "ast", "lsp_empty"),
]


@pytest.mark.parametrize(("behaviour", "use_lsp", "by", "reason"), POLICY_TABLE)
def test_policy_table_for_positions(
    behaviour: str, use_lsp: bool, by: str, reason: str | None
) -> None:
    world = World(behaviour)
    res = world.position.execute(SymbolRequest("app.py:4:1", use_lsp=use_lsp))
    assert (res.resolved_by, res.fallback_reason) == (by, reason)
    assert [(m.path, m.line, m.column) for m in res.matches] == [("pkg/mod.py", 15, 5)]
    assert res.matches[0].qualname == "helper" and res.matches[0].kind == "function"
    assert reason is None or reason in FALLBACK_REASONS
    fallbacks = world.telemetry.metrics.get("lsp_fallback_count", 0)
    assert fallbacks == (0 if reason in (None, "lsp_disabled") else 1)
    # only requests that reached the server count (the timeout-rate denominator)
    never_sent = ("lsp_disabled", "lsp_unavailable", "lsp_cold", "lsp_not_ready")
    assert world.telemetry.metrics.get("lsp_request_count", 0) == (reason not in never_sent)


@pytest.mark.parametrize(("behaviour", "use_lsp", "by", "reason"), POLICY_TABLE)
def test_policy_table_for_selectors(
    behaviour: str, use_lsp: bool, by: str, reason: str | None
) -> None:
    world = World(behaviour)
    res = world.selector.execute(SymbolRequest("pkg.mod:Greeter.greet", use_lsp=use_lsp))
    assert (res.resolved_by, res.fallback_reason) == (by, reason)
    assert [(m.path, m.line, m.column) for m in res.matches] == [("pkg/mod.py", 7, 9)]
    assert res.query == "sym://python/mod/pkg.mod#Greeter.greet"


def test_every_documented_reason_is_reachable() -> None:
    reached = {r for _, _, _, r in POLICY_TABLE if r is not None}
    assert reached == set(FALLBACK_REASONS)


def test_no_lsp_port_at_all_is_disabled() -> None:
    world = World(lsp=False)
    res = world.selector.execute(SymbolRequest("pkg.mod:helper"))
    assert (res.resolved_by, res.fallback_reason) == ("ast", "lsp_disabled")


@pytest.mark.parametrize("behaviour", ["unavailable", "crashed", "timeout", "error", "not_ready"])
def test_require_lsp_never_falls_back(behaviour: str) -> None:
    world = World(behaviour)
    with pytest.raises(LanguageServerError, match="require_lsp forbids the fallback"):
        world.position.execute(SymbolRequest("app.py:4:1", require_lsp=True))
    assert world.telemetry.metrics.get("lsp_fallback_count", 0) == 0


def test_require_lsp_waits_for_a_slow_first_answer() -> None:
    """A first definition after the scan can take seconds (pyright checks the file): under
    --require-lsp the request deadline is at least the ready wait, not the 500 ms default."""

    world = World(needs_ms=2_000)
    res = world.position.execute(
        SymbolRequest("app.py:4:1", timeout_ms=500, ready_wait_ms=10_000, require_lsp=True)
    )
    assert (res.resolved_by, res.fallback_reason) == ("lsp", None) and res.resolved
    sel = world.selector.execute(
        SymbolRequest(
            "pkg.mod:Greeter.greet", timeout_ms=500, ready_wait_ms=10_000, require_lsp=True
        )
    )
    assert sel.resolved_by == "lsp" and sel.resolved
    assert world.server.deadlines == [10_000, 10_000]
    # without --require-lsp the 500 ms deadline stands and the fallback answers
    res = world.position.execute(SymbolRequest("app.py:4:1", timeout_ms=500, ready_wait_ms=10_000))
    assert res.fallback_reason == "lsp_timeout" and world.server.deadlines[-1] == 500


def test_require_lsp_without_a_server_fails_at_once() -> None:
    """Nothing runs and nothing was launched (autostart off): no wait for a server that
    will never come, a ``LanguageServerCold`` naming the fix instead."""

    world = World("cold")
    with pytest.raises(LanguageServerCold, match="no warm server runs for this segment"):
        world.position.execute(SymbolRequest("app.py:4:1", ready_wait_ms=10_000, require_lsp=True))
    assert world.server.requests == 0


def test_require_lsp_empty_answer_is_unresolved_by_lsp() -> None:
    world = World("empty")
    res = world.position.execute(SymbolRequest("app.py:4:1", require_lsp=True))
    assert (res.resolved, res.resolved_by, res.fallback_reason) == (False, "lsp", None)


def test_lsp_timeout_falls_back_to_tree_sitter() -> None:
    world = World("timeout")
    res = world.position.execute(SymbolRequest("app.py:4:1", timeout_ms=500))
    assert res.resolved_by == "ast" and res.fallback_reason == "lsp_timeout"
    assert res.resolved
    assert world.telemetry.metrics["lsp_timeout_count"] == 1
    assert world.telemetry.metrics["lsp_fallback_count"] == 1
    assert world.telemetry.metrics["lsp_request_count"] == 1
    (timeout,) = world.events("lsp.timeout")
    assert timeout["request_type"] == "definition"
    assert timeout["timeout_ms"] == 500
    assert timeout["fallback_to"] == "tree_sitter"


# ---- telemetry -------------------------------------------------------------------------------


def test_lifecycle_and_resolution_telemetry() -> None:
    world = World("ok")
    world.position.execute(SymbolRequest("app.py:4:1"))
    world.selector.execute(SymbolRequest("pkg.mod:Nope"))
    cmds = [e["cmd"] for e in world.sink.events]
    assert cmds[:3] == ["lsp.spawn", "lsp.initialize", "lsp.ready"]
    (definition,) = world.events("lsp.definition")
    assert definition["resolved"] is True
    assert (definition["file_path_rel"], definition["line_no"]) == ("pkg/mod.py", 15)
    resolved, unresolved = world.events("selector.resolve")
    assert resolved["symbol_query"] == "app.py:4:1" and resolved["resolved"] is True
    assert resolved["matches_count"] == 1 and resolved["ambiguous"] is False
    assert unresolved["resolved"] is False and unresolved["matches_count"] == 0
    metrics = world.telemetry.metrics
    assert metrics["selector_resolve_count"] == 2
    assert metrics["selector_resolve_success_count"] == 1
    assert metrics["lsp_spawn_count"] == 1 and metrics["lsp_ready_count"] == 1
    for event in world.sink.events:
        assert "/" not in str(event.get("segment"))


def test_an_external_definition_is_answered_by_lsp_and_recorded_without_a_path() -> None:
    """Pyright pointing outside the segment: the external location is the answer (no
    namesake from the index, no path in telemetry), with evidence ``lsp``."""

    world = World("ok")
    external = SymbolLocation(
        "", 0, 0, 0, "function", "join", external=True, module="posixpath", related_lines=()
    )
    world.server.definitions[("app.py", 4, 1)] = [external]
    res = world.position.execute(SymbolRequest("app.py:4:1"))
    assert (res.resolved_by, res.fallback_reason, res.evidence) == ("lsp", None, "lsp")
    assert res.matches == (external,) and not res.ambiguous
    assert "lsp_fallback_count" not in world.telemetry.metrics
    (definition,) = world.events("lsp.definition")
    assert definition["file_path_rel"] is None and definition["external"] is True
    (resolve,) = world.events("selector.resolve")
    assert resolve["result"]["external"] is True and resolve["result"]["evidence"] == "lsp"


def test_a_guess_by_name_says_name_only_and_is_ambiguous_even_alone() -> None:
    world = World(lsp=False)
    world.reader.write("other.py", "def f(v):\n    return v.shout\n")
    res = world.position.execute(SymbolRequest("other.py:2:14"))
    assert [(m.path, m.line) for m in res.matches] == [("pkg/util.py", 1)]
    assert (res.evidence, res.ambiguous, res.resolved_by) == ("name_only", True, "ast")


# ---- the index (fallback resolver) -------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pkg.mod:Greeter", ("pkg/mod.py", 6, 7)),
        ("pkg.mod:Greeter.polish", ("pkg/mod.py", 11, 9)),  # the def line, not the decorator
        ("sym://python/mod/pkg.mod#helper", ("pkg/mod.py", 15, 5)),
        ("pkg.mod:LIMIT", ("pkg/mod.py", 19, 1)),
        ("pkg.mod", ("pkg/mod.py", 1, 1)),
        ("pkg", ("pkg/__init__.py", 1, 1)),
        ("lib.core:Engine.run", ("src/lib/core.py", 2, 9)),  # under src/
        ("pkg.mod.Greeter.greet", ("pkg/mod.py", 7, 9)),  # dotted all the way
        ("pkg:Greeter", ("pkg/mod.py", 6, 7)),  # a re-export followed
    ],
)
def test_selectors_resolve_exactly(query: str, expected: tuple[str, int, int]) -> None:
    res = World(lsp=False).selector.execute(SymbolRequest(query))
    assert [(m.path, m.line, m.column) for m in res.matches] == [expected]
    assert not res.ambiguous


@pytest.mark.parametrize("query", ["pkg.mod:Nope", "pkg.mod:Greeter.nope", "pkg.mod.Nope.x"])
def test_unknown_selectors_are_unresolved(query: str) -> None:
    res = World(lsp=False).selector.execute(SymbolRequest(query))
    assert not res.resolved and res.matches == ()


@pytest.mark.parametrize("query", ["sym://python/mod/", "pkg..mod:X", "pkg.mod:1x", "x://y"])
def test_malformed_selectors_raise(query: str) -> None:
    with pytest.raises(SelectorError):
        World().selector.execute(SymbolRequest(query))


@pytest.mark.parametrize(
    ("position", "expected", "ambiguous"),
    [
        ("pkg/mod.py:8:28", [("pkg/mod.py", 15, 5)], False),  # helper(...) -> module scope
        ("pkg/mod.py:8:30", [("pkg/mod.py", 15, 5)], False),
        ("pkg/mod.py:8:33", [("pkg/mod.py", 15, 5)], False),
        ("pkg/mod.py:8:21", [("pkg/mod.py", 11, 9)], False),  # self.polish -> the class
        ("pkg/mod.py:12:16", [("pkg/util.py", 1, 5)], False),  # loud -> import alias
        ("pkg/mod.py:16:17", [("pkg/util.py", 1, 5)], False),  # util.shout -> module member
        ("pkg/mod.py:16:13", [("pkg/util.py", 1, 1)], False),  # util -> the module
        ("pkg/mod.py:6:8", [("pkg/mod.py", 6, 7)], False),  # on a definition's own name
        ("app.py:5:1", [("pkg/mod.py", 6, 7)], False),  # through the package re-export
        ("pkg/util.py:6:12", [("pkg/util.py", 5, 12)], False),  # a parameter: its binding
    ],
)
def test_positions_resolve_through_scopes_and_imports(
    position: str, expected: list[tuple[str, int, int]], ambiguous: bool
) -> None:
    res = World(lsp=False).position.execute(SymbolRequest(position))
    assert [(m.path, m.line, m.column) for m in res.matches] == expected
    assert res.ambiguous is ambiguous


LOCALS = textwrap.dedent(
    """\
    import json


    class Service:
        def __init__(self, index, *, limit=3):
            self._index = index
            for helper, shout in pairs():
                print(helper, shout)
            with open("x") as stream:
                data = json.load(stream)
            total: int = 0
            if (found := index.get(data)) is not None:
                total += found
            from pkg.util import shout as loud
            return loud(limit, total, index.lookup)

        def other(self):
            global helper
            return helper, index


    def index():
        return 1
    """
)


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ("svc.py:6:23", ("svc.py", 5, 24, "parameter")),  # self._index = index
        ("svc.py:5:24", ("svc.py", 5, 24, "parameter")),  # on the parameter itself
        ("svc.py:15:21", ("svc.py", 5, 34, "parameter")),  # a keyword-only parameter
        ("svc.py:8:19", ("svc.py", 7, 13, "variable")),  # a for target shadows def helper
        ("svc.py:8:27", ("svc.py", 7, 21, "variable")),  # ... and the pkg.util one
        ("svc.py:10:30", ("svc.py", 9, 27, "variable")),  # with ... as stream
        ("svc.py:11:9", ("svc.py", 11, 9, "variable")),  # an annotated assignment
        ("svc.py:13:22", ("svc.py", 12, 13, "variable")),  # a walrus
    ],
)
def test_local_bindings_beat_namesakes_elsewhere(
    position: str, expected: tuple[str, int, int, str]
) -> None:
    """A parameter or local called like a definition elsewhere (``index``, ``helper``) is
    that local binding, never a confident segment-wide hit."""

    world = World(lsp=False)
    world.reader.write("svc.py", LOCALS)
    res = world.position.execute(SymbolRequest(position))
    assert [(m.path, m.line, m.column, m.kind) for m in res.matches] == [expected]
    assert not res.ambiguous
    assert res.matches[0].qualname is not None and ".<locals>." in res.matches[0].qualname


def test_local_imports_are_followed_and_globals_are_not_local() -> None:
    world = World(lsp=False)
    world.reader.write("svc.py", LOCALS)
    world.reader.write("extra.py", "def lookup():\n    return 1\n")
    loud = world.position.execute(SymbolRequest("svc.py:15:16"))
    assert [(m.path, m.line) for m in loud.matches] == [("pkg/util.py", 1)]
    # `global helper` in other(): the module-level/segment definitions, not a local
    glob = world.position.execute(SymbolRequest("svc.py:19:16"))
    assert ("svc.py", 7) not in {(m.path, m.line) for m in glob.matches} and glob.matches
    # `index` in other() is not bound there: the module-level def index
    mod = world.position.execute(SymbolRequest("svc.py:19:24"))
    assert [(m.path, m.line, m.kind) for m in mod.matches] == [("svc.py", 22, "function")]
    # an attribute of a local value: a guess, so never a confident answer
    attr = world.position.execute(SymbolRequest("svc.py:15:41"))
    assert [(m.path, m.line) for m in attr.matches] == [("extra.py", 1)] and attr.ambiguous


def test_segment_wide_name_search_says_ambiguous() -> None:
    world = World(lsp=False)
    world.reader.write("other.py", "x = helper\n")
    res = world.position.execute(SymbolRequest("other.py:1:5"))
    assert res.ambiguous
    assert {(m.path, m.line) for m in res.matches} == {("pkg/mod.py", 15), ("pkg/util.py", 5)}


def test_broken_files_do_not_break_the_segment_search() -> None:
    world = World(lsp=False)
    world.reader.write("broken.py", "def oops(:\n")
    world.reader.write("other.py", "x = shout\n")
    res = world.position.execute(SymbolRequest("other.py:1:5"))
    assert [(m.path, m.line) for m in res.matches] == [("pkg/util.py", 1)]


@pytest.mark.parametrize(
    ("position", "error"),
    [
        ("app.py:0:1", UsageError),
        ("app.py:1", UsageError),
        ("app.py:x:1", UsageError),
        ("missing.py:1:1", FileMissing),
        ("../outside.py:1:1", PathOutsideSegment),
    ],
)
def test_bad_positions_raise(position: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        World().position.execute(SymbolRequest(position))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("nope.mod:X", "module nope.mod not found in the segment"),
        ("pkg.nope:X", "module pkg.nope not found in the segment"),  # not pkg/__init__.py
        ("sym://python/mod/pkg.nope#X", "module pkg.nope not found in the segment"),
        ("nope", "module nope not found in the segment"),
    ],
)
def test_unknown_modules_are_refused_before_asking_pyright(query: str, message: str) -> None:
    world = World("ok")
    with pytest.raises(ModuleMissing, match=message):
        world.selector.execute(SymbolRequest(query))
    assert world.server.requests == 0


@pytest.mark.parametrize(
    ("position", "error", "message"),
    [
        ("app.py:99:1", PositionOutOfRange, "line 99 is past the end of app.py (5 lines)"),
        ("app.py:1:99", PositionOutOfRange, "column 99 is past the end of line 1 of app.py"),
        ("README.md:1:1", NotPython, "README.md is not a Python file"),
    ],
)
def test_positions_outside_the_text_are_refused_before_asking_pyright(
    position: str, error: type[Exception], message: str
) -> None:
    world = World("ok")
    world.reader.write("README.md", "# hello\n")
    with pytest.raises(error, match=re.escape(message)):
        world.position.execute(SymbolRequest(position))
    assert world.server.requests == 0
    assert world.position.execute(SymbolRequest("app.py:1:27")).resolved is not None  # EOL ok


def test_a_file_too_large_to_read_is_still_asked_of_pyright() -> None:
    world = World("ok")
    world.server.definitions[("big.py", 4, 1)] = [loc("pkg/mod.py", 15, 5)]
    world.reader.write("big.py", "x = 1\n" * 10)
    world.reader.max_bytes = 10
    res = world.position.execute(SymbolRequest("big.py:4:1"))
    assert (res.resolved_by, [m.line for m in res.matches]) == ("lsp", [15])


def test_parse_position_keeps_colons_in_the_file_name() -> None:
    assert parse_position("a:b.py:3:4") == ("a:b.py", 3, 4)


def test_helpers() -> None:
    assert module_candidates("a.b")[:2] == ["a/b.py", "a/b/__init__.py"]
    assert identifier_at("    return self.polish(x)", 17) == ("polish", ["self"])
    assert identifier_at("a = b", 2) is None
    imports = scan_imports("from . import util as u\nimport os.path\n", "pkg/mod.py")
    assert imports["u"].module == "pkg" and imports["u"].name == "util"
    assert imports["os"].module == "os"
    multi = scan_imports("from pkg.util import (\n    shout,\n    helper as h,\n)\n", "x.py")
    assert multi["shout"].name == "shout" and multi["h"].name == "helper"


def test_segment_search_reads_only_changed_files_with_a_name_store() -> None:
    from tests.fakes import FakeNameIndexStore

    reader = FakeFileReader(FILES)
    parsed: list[str] = []
    base = skeletons_of(reader)

    def counting(path: str) -> Any:
        parsed.append(path)
        return base(path)

    store = FakeNameIndexStore()

    reader.write("other.py", "x = shout\n")
    index = SymbolIndex(reader, counting, store=store)
    first = [(m.path, m.line) for m in index.resolve_position("other.py", 1, 5).matches]
    assert first == [("pkg/util.py", 1)]
    assert len(parsed) >= len(reader.files) - 1 and store.updates == 1
    parsed.clear()
    index = SymbolIndex(reader, counting, store=store)
    again = [(m.path, m.line) for m in index.resolve_position("other.py", 1, 5).matches]
    assert again == first and "pkg/mod.py" not in parsed and store.updates == 1
    reader.write("pkg/util.py", UTIL.replace("def shout", "def whisper"))
    parsed.clear()
    index = SymbolIndex(reader, counting, store=store)
    assert index.resolve_position("other.py", 1, 5).matches == ()
    assert "pkg/util.py" in parsed and "pkg/mod.py" not in parsed


def test_deleted_files_leave_the_name_store() -> None:
    from tests.fakes import FakeNameIndexStore

    reader = FakeFileReader(FILES)
    reader.write("other.py", "x = shout\n")
    store = FakeNameIndexStore()
    SymbolIndex(reader, skeletons_of(reader), store=store).resolve_position("other.py", 1, 5)
    assert "pkg/util.py" in store.stamps()
    del reader.files["pkg/util.py"]
    answer = SymbolIndex(reader, skeletons_of(reader), store=store).resolve_position(
        "other.py", 1, 5
    )
    assert answer.matches == () and "pkg/util.py" not in store.stamps()
