"""The segment-wide name table in memory."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from trifecta.domain.ports import (
    NameIndexStore,
    NameRow,
    Stamp,
)


class FakeNameIndexStore(NameIndexStore):
    """The name table in dicts; ``updates`` counts the updates that changed something."""

    def __init__(self) -> None:
        self.files: dict[str, Stamp] = {}
        self.rows: dict[str, tuple[NameRow, ...]] = {}
        self.updates = 0

    def stamps(self) -> dict[str, Stamp]:
        return dict(self.files)

    def update(
        self,
        changed: Mapping[str, tuple[Stamp, Sequence[NameRow]]],
        removed: Collection[str],
    ) -> None:
        self.updates += 1
        for path in removed:
            self.files.pop(path, None)
            self.rows.pop(path, None)
        for path, (stamp, rows) in changed.items():
            self.files[path] = stamp
            self.rows[path] = tuple(rows)

    def lookup(self, name: str) -> list[tuple[str, NameRow]]:
        return [
            (path, row)
            for path in sorted(self.rows)
            for row in sorted(self.rows[path], key=lambda r: r[3])
            if row[1] == name
        ]
