"""Which segment a command works on when ``--segment`` is not given: the nearest directory,
from the current one upwards, that holds ``_ctx/`` (a built segment); failing that (a first
build) the git work-tree root; failing that the current directory. Like git, ruff and uv
finding their root."""

from __future__ import annotations

from pathlib import Path

CTX_DIR = "_ctx"


def discover_segment(cwd: Path) -> tuple[Path, str]:
    """(segment, how it was found: ``_ctx``, ``git`` or ``cwd``)."""

    here = cwd.absolute()
    chain = [here, *here.parents]
    for directory in chain:
        if (directory / CTX_DIR).is_dir():
            return directory, "_ctx"
    for directory in chain:
        if (directory / ".git").exists():
            return directory, "git"
    return here, "cwd"
