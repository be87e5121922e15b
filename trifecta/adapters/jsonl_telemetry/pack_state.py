"""``pack_state`` for ``last_run.json``: the pack's sha256 (16 hex) and mtime, if it exists."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

PACK = Path("_ctx") / "context_pack.json"


def read_pack_state(root: Path) -> dict[str, Any] | None:
    path = root / PACK
    digest = hashlib.sha256()
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None  # a FIFO or a device in its place: never opened (it would block)
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    mtime = st.st_mtime
    return {"pack_sha": digest.hexdigest()[:16], "pack_mtime": mtime}


def pack_state_reader(root: str | Path) -> Callable[[], dict[str, Any] | None]:
    """A callable the telemetry service calls at flush (I/O stays in the adapter)."""

    base = Path(root)
    return lambda: read_pack_state(base)
