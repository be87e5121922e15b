"""Which segment a command works on when ``--segment`` is not given: the nearest directory,
from the current one upwards, that holds ``_ctx/`` with a context pack or a
``trifecta.toml`` in it (a ``_ctx/`` holding only telemetry, left by a call in the wrong
place, marks nothing); failing that (a first build) the git work-tree root; failing that
the current directory. Like git, ruff and uv finding their root."""

from __future__ import annotations

from pathlib import Path

CTX_DIR = "_ctx"
MARKERS = ("context_pack.json", "trifecta.toml")


def is_segment(directory: Path) -> bool:
    """Does ``directory`` hold a built or configured segment's ``_ctx/``?"""

    return any((directory / CTX_DIR / marker).is_file() for marker in MARKERS)


def discover_segment(cwd: Path) -> tuple[Path, str]:
    """(segment, how it was found: ``_ctx``, ``git`` or ``cwd``)."""

    here = cwd.absolute()
    chain = [here, *here.parents]
    for directory in chain:
        if is_segment(directory):
            return directory, "_ctx"
    for directory in chain:
        if (directory / ".git").exists():
            return directory, "git"
    return here, "cwd"
