"""Segment labels for telemetry records (no path leaks)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def segment_label(root: Path) -> str:
    """A stable, non-reversible label for a segment: ``<dirname>-<sha256(path)[:8]>``."""

    digest = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:8]
    return f"{root.name or 'root'}-{digest}"
