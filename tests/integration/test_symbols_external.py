"""Definitions outside the segment on the REAL pyright: the standard library (typeshed) and
a package reached through a symlink that leaves the segment are answers (module and
qualified name, no path), never replaced by a namesake inside the segment, which here
defines ``join``, ``update``, ``stdout`` and ``write`` to tempt it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_pyright_adapter import READY_WAIT_MS, REQUEST_WAIT_MS
from tests.integration.test_symbols_pyright import Rig
from trifecta.adapters.cli.render.symbols import resolution_json
from trifecta.adapters.lsp_daemon.protocol import location_from_wire, location_to_wire
from trifecta.application.symbols.use_cases import SymbolRequest
from trifecta.domain.model import Resolution, SymbolLocation

NAMES = """\
class URL:
    def join(self, other):
        return other


class Jar:
    def update(self, other):
        return other


class Result:
    stdout = ""

    def write(self, text):
        return text


def join(*parts):
    return parts


def update(value):
    return value


stdout = None
"""
USE = """\
import os
import sys

from extlib import thing


def run(parts):
    data = b"".join(parts)
    os.environ.update({"A": "1"})
    sys.stdout.write("x")
    return thing(data)
"""


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    seg = tmp_path / "seg"
    (seg / "pkg").mkdir(parents=True)
    (seg / "pkg" / "__init__.py").write_text("")
    (seg / "pkg" / "names.py").write_text(NAMES)
    (seg / "pkg" / "use.py").write_text(USE)
    outside = tmp_path / "outside" / "extlib"
    outside.mkdir(parents=True)
    (outside / "__init__.py").write_text("def thing(value):\n    return value\n")
    (seg / "extlib").symlink_to(outside, target_is_directory=True)
    rig = Rig(seg)
    yield rig
    rig.server.shutdown()


def ask(rig: Rig, position: str, use_lsp: bool = True) -> Resolution:
    request = SymbolRequest(
        position, timeout_ms=REQUEST_WAIT_MS, ready_wait_ms=READY_WAIT_MS, use_lsp=use_lsp
    )
    return rig.position.execute(request)


def test_external_targets_are_answers_with_module_and_qualname(rig: Rig, tmp_path: Path) -> None:
    expected = {
        "pkg/use.py:8:19": ("builtins", "bytes.join", "method"),  # b"".join
        "pkg/use.py:9:16": ("typing", "MutableMapping.update", "method"),  # os.environ.update
        "pkg/use.py:10:9": ("sys", "stdout", "variable"),  # sys.stdout
        "pkg/use.py:10:16": ("typing", "IO.write", "method"),  # sys.stdout.write
        "pkg/use.py:11:12": ("extlib", "thing", "function"),  # through the symlink
    }
    for position, (module, qualname, kind) in expected.items():
        res = ask(rig, position)
        assert (res.resolved_by, res.fallback_reason, res.evidence) == ("lsp", None, "lsp"), (
            position
        )
        # one answer even where typeshed lists overloads (collapsed into the last)
        (match,) = res.matches
        assert (match.external, match.module, match.qualname, match.kind) == (
            True,
            module,
            qualname,
            kind,
        ), position
        assert match.path == "" and not res.ambiguous
        data = resolution_json(res)
        assert data["matches"][0]["path"] is None and data["matches"][0]["external"] is True
        text = json.dumps(data)
        assert str(tmp_path) not in text and "typeshed" not in text, position
    # the namesakes in pkg/names.py were never reported
    lsp_events = [e for e in rig.sink.events if e["cmd"] == "lsp.definition"]
    assert {e.get("file_path_rel") for e in lsp_events} == {None}
    assert rig.telemetry.metrics.get("lsp_fallback_count", 0) == 0


def test_fallback_says_external_for_an_import_of_a_module_outside_the_segment(rig: Rig) -> None:
    res = ask(rig, "pkg/use.py:9:16", use_lsp=False)  # os.environ.update, no pyright
    # the index found it through pkg/use.py's imports, and ``ast`` parsed pkg/use.py
    assert (res.resolved_by, res.fallback_reason) == ("ast", "lsp_disabled")
    (match,) = res.matches
    assert (match.external, match.module, match.qualname) == (True, "os", "environ.update")
    assert res.evidence == "import" and not res.ambiguous
    # b"".join: the receiver is a literal, so no namesake is presented as certain
    res = ask(rig, "pkg/use.py:8:19", use_lsp=False)
    assert not (res.matches and not res.ambiguous and not res.matches[0].external), res


def test_wire_carries_external_and_reads_the_old_six_items() -> None:
    loc = SymbolLocation("", 7, 9, 7, "method", "bytes.join", external=True, module="builtins")
    assert location_from_wire(location_to_wire(loc)) == loc
    old = ["pkg/mod.py", 3, 5, 4, "function", "helper"]
    assert location_from_wire(old) == SymbolLocation("pkg/mod.py", 3, 5, 4, "function", "helper")
