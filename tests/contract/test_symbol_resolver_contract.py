"""The ``SymbolResolver`` contract, for both resolvers the fallback policy composes: the
language server's (over the REAL pyright) and the index's (real files, real skeletons).

Promises: a selector or a position -> the definition's location inside the segment
(segment-relative path, 1-based line and column, ``end_line`` >= ``line``, kind and
qualified name); ``query`` names what was asked; an unknown symbol is an answer with no
matches, never an exception; ``resolved_by`` says which resolver answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeTelemetrySink
from tests.integration.test_pyright_adapter import READY_WAIT_MS, REQUEST_WAIT_MS, write_project
from trifecta.adapters.filesystem.reader import LocalFileReader
from trifecta.adapters.pyright.server import PyrightLanguageServer
from trifecta.adapters.system.clock import SystemClock
from trifecta.application.symbols.index import SymbolIndex
from trifecta.application.symbols.resolvers import IndexSymbolResolver, LspSymbolResolver
from trifecta.application.telemetry.service import TelemetryService
from trifecta.bootstrap.skeletons import skeleton_reader
from trifecta.domain.model import Selector
from trifecta.domain.ports import SymbolResolver


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("resolver") / "seg")


@pytest.fixture(scope="module")
def pyright(project: Path) -> Iterator[PyrightLanguageServer]:
    server = PyrightLanguageServer(project, SystemClock())
    yield server
    server.shutdown()


@pytest.fixture(params=["lsp", "index"])
def resolver(
    request: pytest.FixtureRequest, project: Path, pyright: PyrightLanguageServer
) -> tuple[str, SymbolResolver]:
    reader = LocalFileReader(project)
    index = SymbolIndex(reader, skeleton_reader(reader))
    if request.param == "index":
        return "ast", IndexSymbolResolver(index)  # valid files: ast built the entries
    clock = SystemClock()
    telemetry = TelemetryService(FakeTelemetrySink(), clock, "seg")
    lsp = LspSymbolResolver(pyright, index, telemetry, clock, ready_wait_ms=READY_WAIT_MS)
    return "lsp", lsp


def test_a_selector_resolves_to_its_definition(resolver: tuple[str, SymbolResolver]) -> None:
    by, r = resolver
    answer = r.resolve_selector(Selector("pkg.mod", "Greeter.greet"), REQUEST_WAIT_MS)
    assert answer.query == "sym://python/mod/pkg.mod#Greeter.greet"
    assert answer.resolved_by == by and answer.fallback_reason is None
    (match,) = answer.matches
    assert (match.path, match.line, match.column) == ("pkg/mod.py", 5, 9)
    assert match.kind == "method" and match.qualname == "Greeter.greet"
    assert match.end_line >= match.line


def test_a_position_resolves_to_its_definition(resolver: tuple[str, SymbolResolver]) -> None:
    by, r = resolver
    answer = r.resolve_position("pkg/use.py", 3, 9, REQUEST_WAIT_MS)  # helper('a')
    assert answer.query == "pkg/use.py:3:9" and answer.resolved_by == by
    (match,) = answer.matches
    assert (match.path, match.line, match.kind, match.qualname) == (
        "pkg/mod.py",
        9,
        "function",
        "helper",
    )
    assert not answer.ambiguous


def test_an_unknown_member_is_an_answer_without_matches(
    resolver: tuple[str, SymbolResolver],
) -> None:
    _, r = resolver
    answer = r.resolve_selector(Selector("pkg.mod", "Nope"), REQUEST_WAIT_MS)
    assert answer.matches == () and not answer.resolved


def test_the_index_says_which_parser_built_the_entry(tmp_path: Path) -> None:
    broken = "def ok():\n    return 1\n\n\ndef later(:\n    pass\n"  # ast cannot parse it
    write_project(tmp_path, {"good.py": "def ok():\n    return 1\n", "bad.py": broken})
    reader = LocalFileReader(tmp_path)
    resolver = IndexSymbolResolver(SymbolIndex(reader, skeleton_reader(reader)))
    good = resolver.resolve_selector(Selector("good", "ok"), 500)
    bad = resolver.resolve_selector(Selector("bad", "ok"), 500)
    assert (good.resolved_by, good.matches[0].line) == ("ast", 1)
    assert (bad.resolved_by, bad.matches[0].line) == ("tree_sitter", 1)
    missing = resolver.resolve_position("bad.py", 2, 5, 500)  # `return 1`: nothing defined
    assert missing.resolved_by == "tree_sitter"  # no match: the searched file's parser
