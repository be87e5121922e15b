"""The inner layers import only the standard library (and their own inner layers), and no
I/O or clock module: checked on the source, for every module, so a new third-party import
anywhere in the domain or the application fails here even if import-linter's forbidden
lists do not name it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "trifecta"
IO_MODULES = {"subprocess", "socket", "sqlite3", "fcntl", "shutil", "tempfile", "io", "time"}
ALLOWED_INNER = {
    "domain": {"trifecta.domain"},
    "application": {"trifecta.domain", "trifecta.application"},
}


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _violations(layer: str) -> list[str]:
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            where = f"{path.relative_to(PACKAGE.parent)} imports {name}"
            if top == "trifecta":
                if not any(name == a or name.startswith(a + ".") for a in ALLOWED_INNER[layer]):
                    found.append(where)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.append(where + " (third-party)")
            elif top in IO_MODULES or (layer == "domain" and top in {"os", "pathlib"}):
                found.append(where + " (I/O or clock)")
    return found


@pytest.mark.parametrize("layer", ["domain", "application"])
def test_inner_layers_import_only_pure_stdlib_and_inner_layers(layer: str) -> None:
    assert _violations(layer) == []


def test_the_check_catches_a_third_party_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pkg = tmp_path / "trifecta"
    (fake_pkg / "domain").mkdir(parents=True)
    (fake_pkg / "domain" / "bad.py").write_text(
        "import numpy\nimport time\nfrom trifecta.adapters import x\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake_pkg)
    found = _violations("domain")
    assert len(found) == 3
    assert "(third-party)" in found[0] and "(I/O or clock)" in found[1]
