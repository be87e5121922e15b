"""Every example of the README and docs/cli.md (the ``trifecta ...`` lines of their ```bash
blocks) runs on a copy of this repository, from its root and from a subdirectory, with the
documented exit code (2 where the line says ``exit 2``, else 0). The ``lsp start``/``lsp
stop`` lines need pyright's workspace scan and are covered by test_lsp_daemon.py; the
fallback answers the ``ast resolve``/``ast definition`` lines (no server is started)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/cli.md")
SKIPPED = ("lsp start", "lsp stop")


def examples() -> list[str]:
    lines: list[str] = []
    for doc in DOCS:
        text = (REPO / doc).read_text(encoding="utf-8")
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                if line.startswith("trifecta ") and not any(s in line for s in SKIPPED):
                    lines.append(line)
    return lines


def test_the_docs_have_examples() -> None:
    found = examples()
    assert len(found) >= 15
    assert any(line.startswith("trifecta ctx search SearchPack") for line in found)


def _copy_repository(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = REPO / os.fsdecode(raw)
        if source.is_file():
            target = dest / os.fsdecode(raw)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    subprocess.run(["git", "init", "-q", str(dest)], check=True, capture_output=True)


@pytest.mark.parametrize("where", [".", "trifecta/domain"])
def test_every_example_runs_from_the_root_and_from_a_subdirectory(
    tmp_path: Path, where: str
) -> None:
    repo = tmp_path / "repo"
    _copy_repository(repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIFECTA_", "NO_COLOR"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TRIFECTA_LSP_AUTOSTART"] = "0"
    env["TRIFECTA_TELEMETRY"] = "off"
    for line in examples():
        proc = subprocess.run(
            ["bash", "-c", line],
            cwd=repo / where,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        expected = 2 if "exit 2" in line else 0
        assert proc.returncode == expected, f"{line!r} from {where}: {proc.stderr}"
        assert "Traceback" not in proc.stderr
    assert (repo / "_ctx" / "context_pack.json").is_file()
    assert not (repo / "trifecta" / "domain" / "_ctx").exists()
