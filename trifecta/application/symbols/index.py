"""The fallback resolver: a qualified-name index over the segment built from skeletons.

Selectors are exact: module -> file (``pkg/mod.py``, ``pkg/mod/__init__.py``, also under
``src/``) -> the skeleton entry whose qualified name is the member, following one
``from X import Name`` re-export when the module only imports it. Positions take the
identifier at the point; a name bound in the enclosing function (parameter, local) is that
binding; otherwise they look in the enclosing scopes, then the file's imports, then the
whole segment by name; several candidates left means ``ambiguous``.

Skeletons come from an injected ``skeleton_of(path)`` (the skeleton use case with its
cache), so this module never parses anything itself except import lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from trifecta.application.symbols.fallback import IndexAnswer
from trifecta.application.symbols.pytext import (
    _DEF,
    Imported,
    scan_imports,
)
from trifecta.application.symbols.scopes import ScopeResolver, attribute_rows
from trifecta.domain.errors import InputError, ParseFailed, TrifectaError
from trifecta.domain.model import ReadMode, Selector, Skeleton, SkeletonEntry, SymbolLocation
from trifecta.domain.ports import FileReader, NameIndexStore, NameRow, Stamp
from trifecta.domain.selector import module_candidates

SkeletonOf = Callable[[str], Skeleton]

MAX_AMBIGUOUS = 20


class SymbolIndex:
    """Answers selectors and positions from skeletons (the Tree-sitter/ast fallback)."""

    def __init__(
        self,
        reader: FileReader,
        skeleton_of: SkeletonOf,
        include: Sequence[str] = ("**/*.py",),
        exclude: Sequence[str] = (),
        store: NameIndexStore | None = None,
    ) -> None:
        self._reader = reader
        self._store = store
        self._skeleton_of = skeleton_of
        self._include = tuple(include)
        self._exclude = tuple(exclude)
        self._by_name: dict[str, list[tuple[str, NameRow]]] | None = None
        self._lines: dict[str, list[str]] = {}
        self._synced = False

    # ---- files ---------------------------------------------------------------------------

    def locate_module(self, module: str) -> str | None:
        for candidate in module_candidates(module):
            if self._reader.stat(candidate) is not None:
                return candidate
        return None

    def exists(self, path: str) -> bool:
        return self._reader.stat(path) is not None

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            self._lines[path] = self._reader.read_text(path, ReadMode.SKELETON).text.splitlines()
        return self._lines[path]

    def skeleton(self, path: str) -> Skeleton | None:
        try:
            return self._skeleton_of(path)
        except (ParseFailed, InputError):
            return None

    def location(self, path: str, entry: SkeletonEntry) -> SymbolLocation:
        """Where ``entry``'s name is written: the ``def``/``class`` line (after decorators)
        and the name's column."""

        pattern = re.compile(
            _DEF.get(entry.kind, _DEF["constant"]).format(name=re.escape(entry.name))
        )
        lines = self.lines(path)
        for number in range(entry.line_start, min(entry.line_end, len(lines)) + 1):
            m = pattern.match(lines[number - 1])
            if m:
                return SymbolLocation(
                    path, number, m.start(1) + 1, entry.line_end, entry.kind, entry.qualname
                )
        return SymbolLocation(path, entry.line_start, 1, entry.line_end, entry.kind, entry.qualname)

    def module_location(self, path: str) -> SymbolLocation:
        return SymbolLocation(path, 1, 1, max(len(self.lines(path)), 1), "module", None)

    def entry_at(self, path: str, line: int) -> SkeletonEntry | None:
        """The definition whose name is written on ``line`` (to enrich LSP answers)."""

        skeleton = self.skeleton(path)
        if skeleton is None:
            return None
        for entry in skeleton.entries:
            if (
                entry.line_start <= line <= entry.line_end
                and self.location(path, entry).line == line
            ):
                return entry
        return None

    # ---- selectors -----------------------------------------------------------------------

    def split_selector(self, selector: Selector) -> tuple[str, str | None] | None:
        """(file, member) for a selector; ``pkg.mod.Class`` without ``#`` also works."""

        path = self.locate_module(selector.module)
        if path is not None:
            return path, selector.member
        parts = selector.module.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            path = self.locate_module(".".join(parts[:cut]))
            if path is not None:
                rest = ".".join(parts[cut:])
                return path, f"{rest}.{selector.member}" if selector.member else rest
        return None

    def resolve_selector(self, selector: Selector) -> IndexAnswer:
        split = self.split_selector(selector)
        if split is None:
            return IndexAnswer(())
        path, member = split
        if member is None:
            return IndexAnswer((self.module_location(path),))
        return IndexAnswer(tuple(self._member(path, member, hops=2)))

    def _member(self, path: str, member: str, hops: int) -> list[SymbolLocation]:
        skeleton = self.skeleton(path)
        if skeleton is not None:
            found = [self.location(path, e) for e in skeleton.entries if e.qualname == member]
            if found:
                return found[:1]
        if hops == 0:
            return []
        head, _, rest = member.partition(".")
        imported = scan_imports("\n".join(self.lines(path)), path).get(head)
        if imported is None:
            return []
        module, sub = self._follow(imported, rest)
        return self._member_of_module(module, sub, hops - 1)

    def _follow(self, imported: Imported, rest: str) -> tuple[str, str]:
        """(module, member) an imported name leads to; member "" means the module."""

        if imported.name is None:  # import M [as head]: head.rest is M.rest
            return imported.module, rest
        submodule = f"{imported.module}.{imported.name}"
        if self.locate_module(submodule) is not None:  # from pkg import submodule
            return submodule, rest
        return imported.module, f"{imported.name}.{rest}" if rest else imported.name

    # ---- positions -----------------------------------------------------------------------

    def resolve_position(self, path: str, line: int, column: int) -> IndexAnswer:
        """The definition of the identifier at a position, by Python's scoping rules
        (``trifecta/application/symbols/scopes.py``)."""

        return ScopeResolver(self).resolve(path, line, column)

    def _member_of_module(self, module: str, member: str, hops: int) -> list[SymbolLocation]:
        split = self.split_selector(Selector(module=module, member=member or None))
        if split is None:
            return []
        path, rest = split
        if rest is None:
            return [self.module_location(path)]
        return self._member(path, rest, hops)

    def named(self, name: str) -> list[tuple[str, NameRow]]:
        """Every definition called ``name`` in the segment, by path then line."""

        if self._store is None:
            return self._in_memory().get(name, [])
        if not self._synced:
            self._sync(self._store)
            self._synced = True
        return self._store.lookup(name)

    def _rows(self, path: str) -> tuple[NameRow, ...]:
        """A file's definitions, plus the class attributes its skeleton does not list."""

        try:
            found = self._skeleton_of(path).entries
            lines = self.lines(path) if any(e.kind == "class" for e in found) else []
        except TrifectaError:
            return ()
        rows = [(e.kind, e.name, e.qualname, e.line_start, e.line_end) for e in found]
        rows.extend(attribute_rows(lines, found))
        return tuple(rows)

    def _sync(self, store: NameIndexStore) -> None:
        """Bring the store up to date: re-read only files whose (size, mtime) changed."""

        stamps = store.stamps()
        entries, _skipped = self._reader.list_files(self._include, self._exclude)
        changed: dict[str, tuple[Stamp, tuple[NameRow, ...]]] = {}
        for file in entries:
            stamp = (file.size, file.mtime_ns)
            if stamps.get(file.path) != stamp:
                changed[file.path] = (stamp, self._rows(file.path))
        removed = set(stamps) - {file.path for file in entries}
        if changed or removed:
            store.update(changed, removed)

    def _in_memory(self) -> dict[str, list[tuple[str, NameRow]]]:
        if self._by_name is None:
            by_name: dict[str, list[tuple[str, NameRow]]] = {}
            entries, _skipped = self._reader.list_files(self._include, self._exclude)
            for file in entries:
                for row in self._rows(file.path):
                    by_name.setdefault(row[1], []).append((file.path, row))
            self._by_name = by_name
        return self._by_name
