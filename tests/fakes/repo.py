"""A fixed repository state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from trifecta.domain.model import (
    RepoState,
)
from trifecta.domain.ports import (
    ChangeHistory,
    RepoStateReader,
)


class FakeRepoStateReader(RepoStateReader):
    """A fixed repository state; ``reads`` counts how often it was asked (state)."""

    def __init__(self, sha: str | None = "0123456789ab", dirty: bool | None = False) -> None:
        self.state = RepoState(sha, dirty)
        self.reads = 0

    def read(self) -> RepoState:
        self.reads += 1
        return self.state


class FakeChangeHistory(ChangeHistory):
    """A repository told what was committed: ``commit(paths)`` moves HEAD; ``record`` counts
    the last ``commits`` commits' paths when HEAD moved since it last recorded."""

    def __init__(self, commits: int = 50) -> None:
        self.commits = commits
        self.log: list[tuple[str, ...]] = []
        self.recorded_at: int | None = None
        self.records = 0
        self._changes: dict[str, int] = {}

    def commit(self, paths: Sequence[str]) -> None:
        self.log.append(tuple(paths))

    def recent_changes(self) -> Mapping[str, int]:
        return self._changes

    def record(self) -> bool:
        self.records += 1
        if not self.log or self.recorded_at == len(self.log):
            return False
        self.recorded_at = len(self.log)
        counts: dict[str, int] = {}
        for paths in self.log[-self.commits :]:
            for path in paths:
                counts[path] = counts.get(path, 0) + 1
        self._changes = counts
        return True
