"""A definition pyright finds through a symlinked directory that leaves the segment is
never reported as a segment file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fault.helpers import assert_clean, cli

PATIENT_ENV = {"TRIFECTA_LSP_READY_TIMEOUT_MS": "60000"}


@pytest.mark.pyright
def test_a_location_behind_an_escaping_symlink_is_not_a_segment_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret_mod.py").write_text("\n\ndef secret() -> int:\n    return 42\n")
    seg = tmp_path / "seg"
    seg.mkdir()
    os.symlink(outside, seg / "outdir")
    (seg / "use.py").write_text("from outdir.secret_mod import secret\n\nsecret()\n")
    try:
        proc = cli(
            seg,
            "ast",
            "definition",
            "use.py:3:1",
            "--require-lsp",
            "--timeout-ms",
            "60000",
            "--json",
            env={**PATIENT_ENV, "TRIFECTA_LSP_MODE": "process"},
            timeout=180,
        )
    finally:
        cli(seg, "lsp", "stop")
    assert_clean(proc)
    answer = json.loads(proc.stdout)
    reported = json.dumps(answer.get("matches", answer))
    assert "secret_mod.py" not in reported, answer
    assert "outdir/" not in reported, answer
