"""A fixed repository state."""

from __future__ import annotations

from trifecta.domain.model import (
    RepoState,
)
from trifecta.domain.ports import (
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
