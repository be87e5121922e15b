"""Definitions outside the segment, as pyright reports them (typeshed, the standard
library, site-packages, a file reached through a symlink leaving the segment): the module
and the qualified name defined at the reported line, never the file's path.

Each file is read and parsed once per process (the warm server keeps the table), keyed by
its (size, mtime).
"""

from __future__ import annotations

import threading
from pathlib import Path

from trifecta.domain.model import SymbolLocation
from trifecta.domain.pysource import definition_at, module_of_file

MAX_BYTES = 4 * 1024 * 1024
MAX_FILES = 256

_lock = threading.Lock()
_cache: dict[tuple[str, int, int], tuple[str | None, str]] = {}


def _parsed(target: Path) -> tuple[str | None, str] | None:
    """(module, source text) of a file outside the segment, or None if unreadable."""

    try:
        stat = target.stat()
    except OSError:
        return None
    key = (str(target), stat.st_size, stat.st_mtime_ns)
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    text = ""
    if stat.st_size <= MAX_BYTES:
        try:
            text = target.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
    parts = target.parts

    def is_package_dir(index: int) -> bool:
        directory = Path(*parts[: index + 1])
        return (directory / "__init__.py").exists() or (directory / "__init__.pyi").exists()

    value = (module_of_file(parts, is_package_dir), text)
    with _lock:
        if len(_cache) >= MAX_FILES:
            _cache.clear()
        _cache[key] = value
    return value


def external_location(target: Path, line: int, column: int, end_line: int) -> SymbolLocation:
    """The answer for a definition at ``line`` of ``target`` (outside the segment)."""

    parsed = _parsed(target)
    module, text = parsed if parsed is not None else (None, "")
    found = definition_at(text, line) if text else None
    if found is not None:
        qualname, kind = found
    else:  # pyright points at the top of a module it resolved an import to
        qualname, kind = None, "module" if (line, column) == (1, 1) else "unknown"
    return SymbolLocation(
        path="",
        line=line,
        column=column,
        end_line=end_line,
        kind=kind,
        qualname=qualname,
        external=True,
        module=module,
    )
