"""``GitChangeHistory``: how often the last commits touched each file of a segment.

``record`` (a build or sync, under the pack's build lock) runs one ``git log --no-merges
--name-only -n N HEAD -- .`` in the segment (bounded by a timeout) and writes the counts to
``_ctx/history.json`` with the HEAD sha they were read at; it runs git again only when HEAD
moved or ``N`` changed, so a sync with nothing new writes nothing. HEAD is read from the
files of ``.git`` (no subprocess). ``recent_changes`` (a search) reads that file, once per
version of it. Outside git, without history, on a git failure or a damaged file, the answer
is empty: the prior is a help to the ranking, never a reason to fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from trifecta.adapters.git.reader import find_git_dir, head_sha
from trifecta.adapters.tempfiles import temp_path
from trifecta.domain.ports import ChangeHistory

HISTORY_FILE = "history.json"
GIT_TIMEOUT_S = 10.0


class GitChangeHistory(ChangeHistory):
    """The ``ChangeHistory`` port on the git repository holding ``root`` (``commits``: how
    many of the last commits count; 0 turns the prior off)."""

    def __init__(self, root: str | Path, commits: int = 50) -> None:
        self.root = Path(root)
        self.commits = commits
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
            self._changes = self._read().get("changes", {})
            self._seen = stamp
        return self._changes

    def _read(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        changes = data.get("changes") if isinstance(data, dict) else None
        if not isinstance(changes, dict):
            return {}
        clean = {
            str(path): count
            for path, count in changes.items()
            if isinstance(count, int) and not isinstance(count, bool) and count > 0
        }
        return {"changes": clean}

    # ---- build ---------------------------------------------------------------------------

    def record(self) -> bool:
        if self.commits <= 0:
            return False
        head = self._head()
        if head is None:
            return False
        try:
            recorded = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            recorded = None
        if (
            isinstance(recorded, dict)
            and recorded.get("head") == head
            and recorded.get("commits") == self.commits
        ):
            return False
        changes = self._log()
        if changes is None:
            return False
        body = {"head": head, "commits": self.commits, "changes": changes}
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

        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
        args = ["git", "-c", "core.quotepath=off", "log", "--no-merges", "--format=%x00"]
        args += ["--name-only", "-z", "--relative", "-n", str(self.commits), "HEAD", "--", "."]
        try:
            proc = subprocess.run(
                args, cwd=self.root, env=env, capture_output=True, timeout=GIT_TIMEOUT_S
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode != 0:
            return None
        counts: dict[str, int] = {}
        for name in proc.stdout.decode("utf-8", "replace").split("\0"):
            path = name.strip("\n")
            if path and not path.startswith("_ctx/"):
                counts[path] = counts.get(path, 0) + 1
        return counts
