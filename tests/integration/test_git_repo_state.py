"""GitRepoStateReader on real repositories made in temporary directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import git
from trifecta import Telemetry
from trifecta.adapters.git.reader import GitRepoStateReader
from trifecta.domain.model import RepoState


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "a.py").write_text("x = 1\n")
    (root / "sub").mkdir()
    (root / "sub" / "b.py").write_text("y = 2\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD")[:12]


def test_clean_repository(repo: Path) -> None:
    assert GitRepoStateReader(repo).read() == RepoState(head(repo), False)


def test_segment_in_a_subdirectory_reads_the_enclosing_repo(repo: Path) -> None:
    assert GitRepoStateReader(repo / "sub").read() == RepoState(head(repo), False)


def test_dirty_repository(repo: Path) -> None:
    (repo / "a.py").write_text("x = 2\n")
    assert GitRepoStateReader(repo).read() == RepoState(head(repo), True)


def test_untracked_files_do_not_make_it_dirty(repo: Path) -> None:
    (repo / "new.py").write_text("z = 3\n")
    assert GitRepoStateReader(repo).read().dirty is False


def test_detached_head(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "a.py").write_text("x = 3\n")
    git(repo, "commit", "-q", "-am", "second")
    git(repo, "checkout", "-q", "--detach", first)
    assert GitRepoStateReader(repo).read() == RepoState(first[:12], False)


def test_packed_refs(repo: Path) -> None:
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert GitRepoStateReader(repo).read().sha == head(repo)


def test_worktree_dot_git_file(repo: Path, tmp_path: Path) -> None:
    (repo / "a.py").write_text("x = 9\n")
    git(repo, "commit", "-q", "-am", "second")
    git(repo, "branch", "other", "HEAD~1")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "other")
    assert (wt / ".git").is_file()
    state = GitRepoStateReader(wt).read()
    assert state == RepoState(git(wt, "rev-parse", "HEAD")[:12], False)
    assert state.sha != head(repo)


def test_no_git(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert GitRepoStateReader(plain).read() == RepoState(None, None)


def test_unborn_branch(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q")
    assert GitRepoStateReader(root).read().sha is None


def test_broken_git_dir(repo: Path, tmp_path: Path) -> None:
    (repo / ".git" / "HEAD").write_text("garbage\n")
    assert GitRepoStateReader(repo).read().sha is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent/place\n")
    assert GitRepoStateReader(broken).read() == RepoState(None, None)


def test_missing_git_binary_still_reads_head(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = head(repo)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert GitRepoStateReader(repo).read() == RepoState(expected, None)


def test_computed_once_per_process(repo: Path) -> None:
    reader = GitRepoStateReader(repo)
    first = reader.read()
    (repo / "a.py").write_text("changed\n")
    assert reader.read() is first


def test_every_event_carries_repo_state(repo: Path) -> None:
    (repo / "a.py").write_text("x = 5\n")
    t = Telemetry(repo)
    t.event("ctx.search", {"query": "q"}, {"hits": 1}, 3, tokens=25)
    t.event("ast.skeleton", {"paths": ["a.py"]}, {"files": 1}, 2)
    t.flush()
    lines = (repo / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["repo_sha"], e["dirty"], e["tokens"]) for e in events] == [
        (head(repo), True, 25),
        (head(repo), True, 0),
    ]
    last = json.loads((repo / "_ctx" / "telemetry" / "last_run.json").read_text())
    assert last["repo_sha"] == head(repo) and last["dirty"] is True
