"""Shaping a list of definition locations into an answer (pure).

One symbol reported at several places is one answer: pyright lists every ``@overload`` of
a function (in typeshed or in the segment) as a separate location. Locations with the same
file (or external module) and qualified name collapse into the last one, the
implementation, which follows its overloads; the others' lines go to ``related_lines``.
"""

from __future__ import annotations

from collections.abc import Sequence

from trifecta.domain.model import SymbolLocation
from trifecta.domain.records import replace


def collapse_same_symbol(found: Sequence[SymbolLocation]) -> tuple[SymbolLocation, ...]:
    """Keep the first position of each distinct symbol, answered by its last location."""

    groups: dict[tuple[bool, str, str], list[SymbolLocation]] = {}
    order: list[tuple[bool, str, str] | int] = []
    for index, loc in enumerate(found):
        if loc.qualname is None and not loc.external:
            order.append(index)
            continue
        key = (loc.external, loc.module or loc.path, loc.qualname or "")
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(loc)
    out: list[SymbolLocation] = []
    for item in order:
        if isinstance(item, int):
            out.append(found[item])
            continue
        group = groups[item]
        last = group[-1]
        others = {g.line for g in group[:-1] if g.line != last.line} | set(last.related_lines)
        out.append(replace(last, related_lines=tuple(sorted(others))))

    return tuple(out)
