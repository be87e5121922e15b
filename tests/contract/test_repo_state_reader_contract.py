"""The RepoStateReader contract, run against the fake and the real ``.git`` reader."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.fakes import FakeRepoStateReader
from trifecta.adapters.git.reader import GitRepoStateReader
from trifecta.domain.ports import RepoStateReader

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def _clean_repo(root: Path) -> str:
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "a.py"], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=root, env=GIT_ENV, check=True)
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def make_fake(tmp: Path) -> tuple[RepoStateReader, str]:
    return FakeRepoStateReader("abcdef012345", False), "abcdef012345"


def make_real(tmp: Path) -> tuple[RepoStateReader, str]:
    sha = _clean_repo(tmp / "repo")
    return GitRepoStateReader(tmp / "repo"), sha[:12]


@pytest.fixture(params=[make_fake, make_real], ids=["fake", "git"])
def reader_and_sha(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[RepoStateReader, str]:
    made: tuple[RepoStateReader, str] = request.param(tmp_path)
    return made


def test_clean_repository_reports_12_hex_head_and_not_dirty(
    reader_and_sha: tuple[RepoStateReader, str],
) -> None:
    reader, sha = reader_and_sha
    state = reader.read()
    assert state.sha == sha
    assert re.fullmatch(r"[0-9a-f]{12}", state.sha or "")
    assert state.dirty is False


def test_reading_twice_gives_the_same_state(reader_and_sha: tuple[RepoStateReader, str]) -> None:
    reader, _ = reader_and_sha
    assert reader.read() == reader.read()


def test_outside_git_is_the_empty_state(tmp_path: Path) -> None:
    for reader in (FakeRepoStateReader(None, None), GitRepoStateReader(tmp_path)):
        state = reader.read()
        assert state.sha is None and state.dirty is None
