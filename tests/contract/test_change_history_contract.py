"""The ChangeHistory contract, run against the fake and the git adapter on a real
repository: nothing before a record, counts of the last commits after one, no rewrite until
HEAD moves, then the new counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import FakeChangeHistory
from tests.gitrepo import git
from trifecta.adapters.git.history import GitChangeHistory
from trifecta.domain.ports import ChangeHistory

Commit = Callable[[list[str]], None]


def make_fake(tmp: Path) -> tuple[ChangeHistory, Commit]:
    fake = FakeChangeHistory(commits=2)
    return fake, fake.commit


def make_real(tmp: Path) -> tuple[ChangeHistory, Commit]:
    root = tmp / "repo"
    (root / "_ctx").mkdir(parents=True)
    git(root, "init", "-q")
    made = [0]

    def commit(paths: list[str]) -> None:
        made[0] += 1
        for path in paths:
            (root / path).write_text(f"x = {made[0]}\n")
        git(root, "add", *paths)
        git(root, "commit", "-q", "-m", "c")

    return GitChangeHistory(root, commits=2), commit


@pytest.fixture(params=[make_fake, make_real], ids=["fake", "git"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ChangeHistory, Commit]:
    made: tuple[ChangeHistory, Commit] = request.param(tmp_path)
    return made


def test_nothing_is_known_before_a_record(history: tuple[ChangeHistory, Commit]) -> None:
    port, commit = history
    assert port.recent_changes() == {}
    commit(["a.py", "b.py"])
    assert port.recent_changes() == {}  # not recorded yet


def test_a_record_counts_the_last_commits_and_is_not_repeated_until_head_moves(
    history: tuple[ChangeHistory, Commit],
) -> None:
    port, commit = history
    commit(["a.py", "b.py"])
    commit(["a.py"])
    assert port.record() is True
    assert port.recent_changes() == {"a.py": 2, "b.py": 1}
    assert port.record() is False
    assert port.recent_changes() == {"a.py": 2, "b.py": 1}
    commit(["c.py"])  # the window is the last two commits
    assert port.record() is True
    assert port.recent_changes() == {"a.py": 1, "c.py": 1}
