"""Secrets in arguments (query, ids, paths, selectors) never reach the telemetry files."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import trifecta
from tests.fault.helpers import cli, make_segment
from tests.fault.secrets_corpus import SECRETS, secret_values
from trifecta.domain.errors import TrifectaError


def _telemetry_text(seg: Path) -> str:
    directory = seg / "_ctx" / "telemetry"
    return "\n".join(p.read_text() for p in sorted(directory.rglob("*.json*")))


def test_no_secret_kind_reaches_telemetry(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path)
    seg = trifecta.open_segment(seg_dir, telemetry={"level": "full"})
    seg.ctx_build()
    for secret in SECRETS.values():
        seg.search(f"where is {secret} used", limit=5)
        with contextlib.suppress(TrifectaError):  # unknown chunk: a failed get, recorded
            seg.get([secret])
        seg.skeletons([f"pkg/{secret}.py"])
    seg.close()
    text = _telemetry_text(seg_dir)
    assert "ctx.get" in text and "ast.skeleton" in text
    leaked = {kind: value for kind, value in secret_values().items() if value in text}
    assert leaked == {}
    assert "<redacted:" in text


def test_secrets_in_cli_arguments_do_not_reach_telemetry(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    values = secret_values()
    for kind in ("slack_bot", "email", "password_pair", "jwt", "url_credentials"):
        cli(seg, "ctx", "search", "-q", SECRETS[kind], env={"TRIFECTA_TELEMETRY": "full"})
        cli(seg, "ctx", "get", "-i", SECRETS[kind], env={"TRIFECTA_TELEMETRY": "full"})
        cli(seg, "ast", "skeleton", f"{SECRETS[kind]}.py", env={"TRIFECTA_TELEMETRY": "full"})
    text = _telemetry_text(seg)
    assert text.count('"cmd":"ctx.get"') == 5
    leaked = [kind for kind, value in values.items() if value in text]
    assert leaked == []


def test_git_data_is_never_packed_even_through_a_symlink(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    (seg / ".git").mkdir()
    credential = "url = https://user:" + "gitcredential42" + "@example.com/repo"
    (seg / ".git" / "config").write_text(f"[remote]\n{credential}\n")
    (seg / ".git" / "notes.md").write_text("# gitcredential42\n")
    (seg / "config.md").symlink_to(seg / ".git" / "config")
    (seg / "gitdir").symlink_to(seg / ".git")
    build = cli(seg, "ctx", "build", "--json", env={"TRIFECTA_FILES_INCLUDE": "**/*"})
    assert build.returncode == 0, build.stderr
    assert "gitcredential42" not in build.stdout
    assert '"symlink leads into .git/"' in build.stdout
    search = cli(seg, "ctx", "search", "-q", "gitcredential42", "--json")
    assert json.loads(search.stdout)["hits"] == []
    for path in ("config.md", ".git/config", "gitdir/notes.md"):
        shown = cli(seg, "ast", "skeleton", path)
        assert shown.returncode != 0
        assert "gitcredential42" not in shown.stdout
