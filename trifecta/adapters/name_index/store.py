"""``JsonNameIndexStore``: the segment's definition names, one JSON file, replaced atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from trifecta.domain.ports import NameIndexStore, NameTable

FORMAT = 2
ROW_FIELDS = 5


class JsonNameIndexStore(NameIndexStore):
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> NameTable:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        table: NameTable = {}
        files = data.get("files")
        if not isinstance(files, dict):
            return {}
        try:
            for path, (size, mtime_ns, rows) in files.items():
                flat = tuple(tuple(row) for row in rows)
                if not all(len(row) == ROW_FIELDS for row in flat):
                    return {}
                table[str(path)] = (int(size), int(mtime_ns), flat)
        except (TypeError, ValueError):
            return {}  # a corrupt store is no store: it is rebuilt
        return table

    def save(self, table: NameTable) -> None:
        files: dict[str, Any] = {
            path: [size, mtime_ns, [list(row) for row in rows]]
            for path, (size, mtime_ns, rows) in table.items()
        }
        payload = json.dumps({"format": FORMAT, "files": files}, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".names-", suffix=".tmp")
        except OSError:
            return  # a cache that cannot be written is only slower next time
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
