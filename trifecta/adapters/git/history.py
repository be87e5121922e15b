"""``GitChangeHistory``: how often the last commits touched each file of a segment.

``record`` (a build or sync, under the pack's build lock) runs one ``git log --no-merges
--name-only -n N HEAD -- .`` in the segment (bounded by a timeout): the last N non-merge
commits that changed something in the segment. A commit that changed more than
``SWEEP_FILES`` files (a reformat, a licence header, the boundary of a shallow clone, which
lists every file) says nothing about where work happens and is left out. The counts go to
``_ctx/history.json`` with the HEAD sha and N they were read at; git runs again only when
HEAD or N changed, so a sync with nothing new writes nothing. A failed or timed-out git is
recorded as no history for that HEAD (not retried by every sync). HEAD is read from the
files of ``.git`` (no subprocess). ``recent_changes`` (a search) reads the file, once per
version of it. Outside git, without history, on a git failure or a damaged file the answer
is empty: the prior helps the ranking, it is never a reason to fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trifecta.adapters.git.reader import find_git_dir, head_sha
from trifecta.adapters.regular_files import read_regular
from trifecta.adapters.tempfiles import temp_path
from trifecta.domain.ports import ChangeHistory

HISTORY_FILE = "history.json"
GIT_TIMEOUT_S = 10.0
SWEEP_FILES = 100
# Variables a git hook or a wrapper may set that would point git at another repository.
_GIT_LOCATION = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")


class GitChangeHistory(ChangeHistory):
    """The ``ChangeHistory`` port on the git repository holding ``root`` (``commits``: how
    many of the last commits count; 0 turns the prior off)."""

    def __init__(
        self, root: str | Path, commits: int = 50, timeout_s: float = GIT_TIMEOUT_S
    ) -> None:
        self.root = Path(root)
        self.commits = commits
        self.timeout_s = timeout_s
        self.path = self.root / "_ctx" / HISTORY_FILE
        self._seen: tuple[int, int] | None = None
        self._changes: dict[str, int] = {}

    # ---- search --------------------------------------------------------------------------

    def recent_changes(self) -> Mapping[str, int]:
        if self.commits <= 0:
            return {}
        try:
            st = os.stat(self.path)
        except OSError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._seen:
            self._changes = self._counts(self._load().get("changes"))
            self._seen = stamp
        return self._changes

    def _load(self) -> dict[str, Any]:
        """The recorded document; {} when it is missing or damaged."""

        try:
            data = json.loads(read_regular(self.path))
        except (OSError, ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def _counts(self, changes: object) -> dict[str, int]:
        """The recorded counts that are counts, each at most the number of commits read (a
        damaged file cannot overflow the ranking's factor)."""

        if not isinstance(changes, dict):
            return {}
        return {
            str(path): min(count, self.commits)
            for path, count in changes.items()
            if isinstance(count, int) and not isinstance(count, bool) and count > 0
        }

    # ---- build ---------------------------------------------------------------------------

    def record(self) -> bool:
        if self.commits <= 0:
            return False
        head = self._head()
        if head is None:
            return False
        recorded = self._load()
        if recorded.get("head") == head and recorded.get("commits") == self.commits:
            return False
        changes = self._log()
        body = {"head": head, "commits": self.commits, "changes": changes or {}}
        target = temp_path(self.path)
        try:
            target.write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
            os.replace(target, self.path)
        except OSError:
            target.unlink(missing_ok=True)
            return False
        return True

    def _head(self) -> str | None:
        try:
            found = find_git_dir(self.root.resolve())
        except OSError:
            return None
        if found is None:
            return None
        _, git_dir, common_dir = found
        return head_sha(git_dir, common_dir)

    def _log(self) -> dict[str, int] | None:
        import subprocess  # only a build that found a repository pays for it

        env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION}
        env |= {"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
        args = ["git", "-c", "core.quotepath=off", "-c", "log.showSignature=false", "log"]
        args += ["--no-merges", "--format=%x01", "--name-only", "-z", "--relative"]
        args += ["-n", str(self.commits), "HEAD", "--", "."]
        try:
            proc = subprocess.run(
                args, cwd=self.root, env=env, capture_output=True, timeout=self.timeout_s
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode != 0:
            return None
        counts: dict[str, int] = {}
        # Each commit: "\x01", then its paths, each ended by NUL (a newline before the
        # first); a path may hold any other character.
        for commit in proc.stdout.decode("utf-8", "replace").split("\x01"):
            paths = [p.lstrip("\n") for p in commit.split("\0")]
            paths = [p for p in paths if p and not p.startswith("_ctx/")]
            if len(paths) > SWEEP_FILES:
                continue
            for path in paths:
                counts[path] = counts.get(path, 0) + 1
        return counts
