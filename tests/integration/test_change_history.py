"""GitChangeHistory and the search's recent-changes prior on real repositories (real git,
real builds, real SQLite)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import trifecta
from tests.gitrepo import git
from trifecta.adapters.git.history import SWEEP_FILES, GitChangeHistory


def commit(root: Path, message: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


# Two modules that a query matches equally (same words, same shapes): only history differs.
TWIN = '''def parse_header(value):
    """Parse a header value into its parts."""
    return value.split(";")
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, "first", {"pkg/alpha.py": TWIN, "pkg/omega.py": TWIN, "docs/ä b.md": "# x\n"})
    for i in range(3):  # omega keeps changing; alpha does not
        commit(root, f"omega {i}", {"pkg/omega.py": TWIN + f"\nVERSION = {i}\n"})
    commit(root, "merge-free history", {"docs/ä b.md": "# y\n"})
    return root


def test_record_counts_the_commits_that_touched_each_file(repo: Path) -> None:
    history = GitChangeHistory(repo, commits=50)
    assert history.recent_changes() == {}  # nothing recorded yet
    (repo / "_ctx").mkdir()
    assert history.record() is True
    assert history.recent_changes() == {"pkg/alpha.py": 1, "pkg/omega.py": 4, "docs/ä b.md": 2}
    recorded = json.loads((repo / "_ctx" / "history.json").read_text(encoding="utf-8"))
    assert recorded["head"] == git(repo, "rev-parse", "HEAD")
    assert recorded["commits"] == 50


def test_only_the_last_n_commits_count(repo: Path) -> None:
    (repo / "_ctx").mkdir()
    history = GitChangeHistory(repo, commits=2)
    assert history.record() is True
    assert history.recent_changes() == {"pkg/omega.py": 1, "docs/ä b.md": 1}


def test_nothing_is_written_again_until_head_moves(repo: Path) -> None:
    (repo / "_ctx").mkdir()
    history = GitChangeHistory(repo)
    assert history.record() is True
    path = repo / "_ctx" / "history.json"
    before = path.stat().st_mtime_ns
    assert history.record() is False
    assert path.stat().st_mtime_ns == before
    commit(repo, "alpha now", {"pkg/alpha.py": TWIN + "\nX = 1\n"})
    assert history.record() is True
    assert GitChangeHistory(repo).recent_changes()["pkg/alpha.py"] == 2


def test_a_segment_in_a_subdirectory_counts_its_own_files_relative_to_itself(
    repo: Path,
) -> None:
    segment = repo / "pkg"
    (segment / "_ctx").mkdir()
    history = GitChangeHistory(segment)
    assert history.record() is True
    assert history.recent_changes() == {"alpha.py": 1, "omega.py": 4}


def test_outside_git_off_or_damaged_there_is_no_prior(tmp_path: Path, repo: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "_ctx").mkdir(parents=True)
    assert GitChangeHistory(plain).record() is False
    assert not (plain / "_ctx" / "history.json").exists()
    (repo / "_ctx").mkdir()
    off = GitChangeHistory(repo, commits=0)
    assert off.record() is False and off.recent_changes() == {}
    (repo / "_ctx" / "history.json").write_text('{"changes": {"a.py": "many", "b.py": 3}')
    assert GitChangeHistory(repo).recent_changes() == {}  # not JSON: ignored
    (repo / "_ctx" / "history.json").write_text('{"changes": {"a.py": "many", "b.py": 3}}')
    assert GitChangeHistory(repo).recent_changes() == {"b.py": 3}
    # A count larger than the commits read is clamped; nesting beyond the parser's depth
    # is no history, not a crash of the search that reads it.
    (repo / "_ctx" / "history.json").write_text('{"changes": {"b.py": 1' + "0" * 400 + "}}")
    assert GitChangeHistory(repo, commits=7).recent_changes() == {"b.py": 7}
    (repo / "_ctx" / "history.json").write_text("[" * 200_000 + "]" * 200_000)
    assert GitChangeHistory(repo).recent_changes() == {}


def test_a_failed_git_is_recorded_as_no_history_for_that_head(repo: Path) -> None:
    (repo / "_ctx").mkdir()
    (repo / ".git" / "HEAD").write_text("0" * 40 + "\n")  # an object git does not have
    history = GitChangeHistory(repo)
    assert history.record() is True
    assert history.recent_changes() == {}
    path = repo / "_ctx" / "history.json"
    before = path.stat().st_mtime_ns
    assert history.record() is False  # not retried until HEAD moves
    assert path.stat().st_mtime_ns == before
    with trifecta.open_segment(repo) as seg:  # and a build there still succeeds
        assert seg.build().files >= 2


def test_a_sweeping_commit_says_nothing_about_where_work_happens(repo: Path) -> None:
    many = {f"gen/m{i}.py": "x = 1\n" for i in range(SWEEP_FILES + 1)}
    commit(repo, "reformat everything", {**many, "pkg/alpha.py": TWIN + "\n# x\n"})
    (repo / "_ctx").mkdir()
    history = GitChangeHistory(repo)
    history.record()
    assert "gen/m0.py" not in history.recent_changes()
    assert history.recent_changes()["pkg/alpha.py"] == 1  # the first commit only


def test_the_file_recent_commits_changed_ranks_first_among_equals(repo: Path) -> None:
    with trifecta.open_segment(repo) as seg:
        seg.build()
        assert (repo / "_ctx" / "history.json").is_file()
        files = [f.path for f in seg.search("parse header value", files=True).files or ()]
    assert files[:2] == ["pkg/omega.py", "pkg/alpha.py"]
    # The same segment with the prior turned off: the tie is broken by path.
    with trifecta.open_segment(repo, search={"history": 0}) as seg:
        files = [f.path for f in seg.search("parse header value", files=True).files or ()]
    assert files[:2] == ["pkg/alpha.py", "pkg/omega.py"]


def test_a_sync_with_nothing_new_rewrites_no_history(repo: Path) -> None:
    with trifecta.open_segment(repo) as seg:
        seg.build()
        path = repo / "_ctx" / "history.json"
        before = path.stat().st_mtime_ns
        seg.build(incremental=True)
        assert path.stat().st_mtime_ns == before


def test_a_fifo_in_the_history_file_s_place_is_no_history_and_no_hang(repo: Path) -> None:
    (repo / "_ctx").mkdir()
    os.mkfifo(repo / "_ctx" / "history.json")
    answers: list[object] = []
    reader = threading.Thread(
        target=lambda: answers.append(GitChangeHistory(repo).recent_changes()), daemon=True
    )
    reader.start()
    reader.join(timeout=10)
    assert answers == [{}]
    history = GitChangeHistory(repo)  # a build replaces it with the real record
    assert history.record() is True
    assert history.recent_changes()["pkg/omega.py"] == 4
