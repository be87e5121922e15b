"""``GitRepoStateReader``: HEAD sha and dirty flag of the segment's repository.

HEAD is read from the files in ``.git`` (no subprocess): ``HEAD``, loose refs, then
``packed-refs``; a ``.git`` *file* (worktrees, submodules) is followed to its ``gitdir`` and
``commondir``. The dirty flag costs one bounded ``git status --porcelain
--untracked-files=no`` (tracked changes only, as ``git describe --dirty``), run with
``GIT_OPTIONAL_LOCKS=0`` so it never takes the index lock of a user's concurrent git command.
Both are computed once per process, on first use. Nothing here raises: a segment outside git,
a missing ``git`` binary, a timeout or a broken repository give ``None`` values.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from trifecta.domain.model import RepoState
from trifecta.domain.ports import RepoStateReader

_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
DIRTY_TIMEOUT_S = 1.0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def find_git_dir(start: Path) -> tuple[Path, Path, Path] | None:
    """(work tree, git dir, common dir) of the repository containing ``start``."""

    for folder in (start, *start.parents):
        dotgit = folder / ".git"
        if dotgit.is_dir():
            git_dir = dotgit
        elif dotgit.is_file():
            content = _read(dotgit) or ""
            if not content.startswith("gitdir:"):
                return None
            target = Path(content[len("gitdir:") :].strip())
            git_dir = target if target.is_absolute() else (folder / target)
            if not git_dir.is_dir():
                return None
        else:
            continue
        common = _read(git_dir / "commondir")
        common_dir = (git_dir / common) if common else git_dir
        return folder, git_dir, common_dir
    return None


def _resolve_ref(ref: str, git_dir: Path, common_dir: Path) -> str | None:
    for base in (git_dir, common_dir):
        value = _read(base / ref)
        if value is not None:
            if value.startswith("ref:"):
                return _resolve_ref(value[4:].strip(), git_dir, common_dir)
            return value if _SHA.match(value) else None
    packed = _read(common_dir / "packed-refs")
    if packed:
        for line in packed.splitlines():
            if line.startswith(("#", "^")):
                continue
            sha, _, name = line.partition(" ")
            if name.strip() == ref and _SHA.match(sha):
                return sha
    return None


def head_sha(git_dir: Path, common_dir: Path) -> str | None:
    head = _read(git_dir / "HEAD")
    if not head:
        return None
    if head.startswith("ref:"):
        return _resolve_ref(head[4:].strip(), git_dir, common_dir)
    return head if _SHA.match(head) else None


def is_dirty(work_tree: Path, timeout_s: float = DIRTY_TIMEOUT_S) -> bool | None:
    import subprocess

    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--ignore-submodules"],
            cwd=work_tree,
            env=env,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return bool(proc.stdout.strip())


class GitRepoStateReader(RepoStateReader):
    """The ``RepoStateReader`` port on the ``.git`` directory of ``root``."""

    def __init__(
        self, root: str | Path, check_dirty: bool = True, timeout_s: float = DIRTY_TIMEOUT_S
    ) -> None:
        self.root = Path(root)
        self.check_dirty = check_dirty
        self.timeout_s = timeout_s
        self._state: RepoState | None = None

    def read(self) -> RepoState:
        if self._state is None:
            self._state = self._compute()
        return self._state

    def _compute(self) -> RepoState:
        try:
            found = find_git_dir(self.root.resolve())
        except OSError:
            return RepoState()
        if found is None:
            return RepoState()
        work_tree, git_dir, common_dir = found
        sha = head_sha(git_dir, common_dir)
        dirty = is_dirty(work_tree, self.timeout_s) if self.check_dirty else None
        return RepoState(sha[:12] if sha else None, dirty)
