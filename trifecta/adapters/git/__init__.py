"""RepoStateReader on a git repository's ``.git`` directory."""

from trifecta.adapters.git.reader import GitRepoStateReader

__all__ = ["GitRepoStateReader"]
