"""The import-linter contracts pass on the real tree and fail on a deliberately wrong import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _copy_tree(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "trifecta", dest / "trifecta", ignore=ignore)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def test_contracts_kept_on_a_copy_of_the_tree(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    proc = _lint(tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "0 broken" in proc.stdout


def test_domain_importing_an_adapter_breaks_the_contracts(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    bad = tmp_path / "trifecta" / "domain" / "model.py"
    bad.write_text(bad.read_text() + "\nimport trifecta.adapters.filesystem.reader  # wrong\n")
    proc = _lint(tmp_path)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout
    assert "trifecta.domain.model -> trifecta.adapters.filesystem.reader" in proc.stdout
