"""A symbol resolver answering from a table."""

from __future__ import annotations

from collections.abc import Mapping

from trifecta.domain.model import (
    Resolution,
    Selector,
    SymbolLocation,
)
from trifecta.domain.ports import (
    SymbolResolver,
)


class FakeSymbolResolver(SymbolResolver):
    """Resolves from a table of qualified names ``module:Qual.Name`` -> locations."""

    def __init__(
        self,
        table: Mapping[str, list[SymbolLocation]] | None = None,
        by: str = "tree_sitter",
        error: Exception | None = None,
    ) -> None:
        self.table = dict(table or {})
        self.by = by
        self.error = error  # raised by every call (a language server that cannot answer)
        self.asked = 0

    def resolve_selector(self, selector: Selector, timeout_ms: int) -> Resolution:
        self._ask()
        key = f"{selector.module}:{selector.member}" if selector.member else selector.module
        matches = tuple(self.table.get(key, []))
        return Resolution(str(selector), matches, self.by, None, len(matches) > 1)

    def resolve_position(self, path: str, line: int, column: int, timeout_ms: int) -> Resolution:
        self._ask()
        matches = tuple(self.table.get(f"{path}:{line}:{column}", []))
        return Resolution(f"{path}:{line}:{column}", matches, self.by, None, len(matches) > 1)

    def _ask(self) -> None:
        self.asked += 1
        if self.error is not None:
            raise self.error
