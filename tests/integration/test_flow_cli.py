"""Flow-dependent bindings through the real CLI (``trifecta ast definition --no-lsp``), a
real file, the real skeleton parser: one reaching binding is a confident ``scope`` answer,
several are candidates marked ambiguous, nearest above first. Expected lines are written by
hand from ``tests/fixtures/flow_shapes.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fixtures.flow_shapes import SHAPES


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flow")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "shapes.py").write_text(SHAPES)
    return root


def definition(segment: Path, line: int, text: str) -> dict[str, object]:
    column = SHAPES.splitlines()[line - 1].index(text) + 1
    proc = run_cli(
        segment, "ast", "definition", f"pkg/shapes.py:{line}:{column}", "--no-lsp", "--json"
    )
    answer: dict[str, object] = json.loads(proc.stdout)
    return answer


@pytest.mark.parametrize(
    ("line", "text", "lines", "ambiguous"),
    [
        (9, "value", [8, 6], True),  # if/else arms
        (20, "parsed", [19, 17], True),  # try/except
        (45, "done", [44], False),  # the other path returned
        (27, "seen", [26], False),  # for/else without break
        (81, "SEP", [75, 73], True),  # module-level if/else, read in a function
    ],
)
def test_reaching_bindings_through_the_cli(
    segment: Path, line: int, text: str, lines: list[int], ambiguous: bool
) -> None:
    answer = definition(segment, line, text)
    matches = answer["matches"]
    assert isinstance(matches, list)
    assert [(m["path"], m["line"]) for m in matches] == [("pkg/shapes.py", n) for n in lines]
    assert answer["ambiguous"] is ambiguous
    assert answer["evidence"] == "scope" and answer["resolved_by"] == "ast"
