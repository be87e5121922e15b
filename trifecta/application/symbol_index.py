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

import keyword
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from trifecta.application.fallback import IndexAnswer
from trifecta.domain.errors import InputError, ParseFailed, TrifectaError
from trifecta.domain.model import ReadMode, Selector, Skeleton, SkeletonEntry, SymbolLocation
from trifecta.domain.ports import FileReader, NameIndexStore, NameRow, Stamp
from trifecta.domain.selector import module_candidates

SkeletonOf = Callable[[str], Skeleton]

MAX_AMBIGUOUS = 20
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
IMPORT = re.compile(r"^\s*import\s+(.+?)\s*(?:#.*)?$")
FROM_IMPORT = re.compile(r"^\s*from\s+(\.*[\w.]*)\s+import\s+(.+?)\s*(?:#.*)?$")


def module_of(path: str) -> str | None:
    """The dotted module a segment file defines (``src/`` stripped), if it is Python."""

    if not path.endswith(".py"):
        return None
    stem = path[: -len(".py")].removesuffix("/__init__")
    stem = stem.removeprefix("src/") if path.startswith("src/") else stem
    parts = stem.split("/")
    return ".".join(parts) if all(p.isidentifier() for p in parts) else None


@dataclass(frozen=True)
class Imported:
    """A name bound by an import: ``module`` and, for ``from`` imports, the ``name``."""

    module: str
    name: str | None


def scan_imports(text: str, path: str) -> dict[str, Imported]:
    """Local name -> what it imports, from import lines (tolerant: never fails)."""

    package = (module_of(path) or "").split(".")
    if not path.endswith("/__init__.py"):
        package = package[:-1]
    found: dict[str, Imported] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "(" in line and ")" not in line and ("import" in line):
            while i + 1 < len(lines) and ")" not in line:
                i += 1
                line = line + " " + lines[i]
        line = line.replace("(", " ").replace(")", " ").replace("\\", " ")
        i += 1
        if m := FROM_IMPORT.match(line):
            source = m.group(1)
            dots = len(source) - len(source.lstrip("."))
            if dots:
                keep = len(package) - (dots - 1)
                if keep < 0:
                    continue
                rest = source[dots:]
                source = ".".join([*package[:keep], *([rest] if rest else [])])
            for part in m.group(2).split(","):
                words = part.split()
                if not words or words[0] == "*":
                    continue
                local = words[2] if len(words) == 3 and words[1] == "as" else words[0]
                if local.isidentifier() and source:
                    found[local] = Imported(source, words[0])
        elif m := IMPORT.match(line):
            for part in m.group(1).split(","):
                words = part.split()
                if not words:
                    continue
                if len(words) == 3 and words[1] == "as":
                    found[words[2]] = Imported(words[0], None)
                else:
                    head = words[0].split(".")[0]
                    found.setdefault(head, Imported(head, None))
    return found


def external(module: str, member: str) -> SymbolLocation:
    """An answer outside the segment: ``module`` and the member's dotted name in it."""

    return SymbolLocation(
        "", 0, 0, 0, "module" if not member else "unknown", member or None, True, module
    )


def identifier_at(line_text: str, column: int) -> tuple[str, list[str]] | None:
    """The identifier under a 1-based column and the dotted chain before it
    (``self.run`` at ``run`` -> ("run", ["self"]))."""

    for m in IDENT.finditer(line_text):
        if m.start() <= column - 1 < m.end():
            chain: list[str] = []
            pos = m.start()
            while pos > 0 and line_text[pos - 1] == ".":
                before = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", line_text[: pos - 1])
                if before is None:
                    break
                chain.insert(0, before.group(1))
                pos = before.start()
            return m.group(), chain
    return None


ASSIGN = re.compile(
    r"^\s*([A-Za-z_][\w\s,*()\[\]]*?)\s*(?::[^=]*)?(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)"
)
FOR = re.compile(r"^\s*(?:async\s+)?for\s+(.+?)\s+in\b")
AS = re.compile(r"^\s*(?:async\s+)?(?:with|except\*?)\b.*?\bas\s+\(?([\w\s,]+)\)?\s*:?")
CALL_OR_ITEM = re.compile(r"\w\s*[(\[]")  # f(a=1), x[i] = v: not a binding of a or i
WALRUS = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*:=")
DECLARED = re.compile(r"^\s*(?:global|nonlocal)\s+(.+)$")
LOCAL_IMPORT = re.compile(r"^\s*(?:from\s+\S+\s+)?import\b")


def signature_params(signature: str) -> list[str]:
    """Parameter names of a ``def`` signature (``self``, ``*args`` and ``**kw`` included)."""

    start = signature.find("(")
    if start < 0:
        return []
    depth, end = 0, len(signature)
    for i in range(start, len(signature)):
        if signature[i] in "([{":
            depth += 1
        elif signature[i] in ")]}":
            depth -= 1
            if depth == 0:
                end = i
                break
    names, depth, part = [], 0, ""
    for ch in signature[start + 1 : end] + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            head = re.split(r"[:=]", part, maxsplit=1)[0].strip().lstrip("*").strip()
            if head.isidentifier():
                names.append(head)
            part = ""
        else:
            part += ch
    return names


_DEF = {
    "class": r"^\s*class\s+({name})\b",
    "function": r"^\s*(?:async\s+)?def\s+({name})\b",
    "method": r"^\s*(?:async\s+)?def\s+({name})\b",
    "constant": r"^\s*({name})\s*[:=]",
}


def _code(text: str) -> str:
    """A line without its trailing comment (string contents are not parsed: tolerant)."""

    return text.split("#", 1)[0]


def _binds(text: str, name: str) -> str | None:
    """``variable``/``import`` when this (comment-free) line binds ``name``, else None."""

    targets: list[str] = []
    if LOCAL_IMPORT.match(text):
        return "import" if name in scan_imports(text.strip(), "") else None
    if (m := FOR.match(text)) or (m := AS.match(text)):
        targets = IDENT.findall(m.group(1))
    elif (m := ASSIGN.match(text)) and not CALL_OR_ITEM.search(m.group(1)):
        targets = [t for t in IDENT.findall(m.group(1)) if not keyword.iskeyword(t)]
    targets += WALRUS.findall(text)
    return "variable" if name in targets else None


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
        lines = self.lines(path)
        if not 1 <= line <= len(lines):
            return IndexAnswer(())
        found = identifier_at(lines[line - 1], column)
        if found is None:
            return IndexAnswer(())
        name, chain = found
        skeleton = self.skeleton(path)
        entries = skeleton.entries if skeleton is not None else ()
        # 1. the cursor is on a definition's own name
        for entry in entries:
            loc = self.location(path, entry)
            if loc.line == line and entry.name == name and not chain:
                return IndexAnswer((loc,))
        # 2. a name bound in the enclosing function (a parameter, a local variable) is that
        #    binding, never a namesake elsewhere; a local import is followed below
        local = self._local_binding(path, entries, line, name if not chain else chain[0])
        if local is not None and not chain and local.kind != "import":
            return IndexAnswer((local,))
        # 3. enclosing scopes, innermost first (``self.x`` looks in the enclosing class)
        scopes = sorted(
            (e for e in entries if e.line_start <= line <= e.line_end),
            key=lambda e: e.line_start,
            reverse=True,
        )
        if chain in ([], ["self"], ["cls"]):
            for scope in scopes:
                if chain and scope.kind != "class":
                    continue
                for entry in entries:
                    if entry.qualname == f"{scope.qualname}.{name}":
                        return IndexAnswer((self.location(path, entry),))
            if not chain:
                for entry in entries:
                    if entry.qualname == name:
                        return IndexAnswer((self.location(path, entry),))
        # 4. the file's imports (``helper`` from ``from pkg.mod import helper``; ``mod.helper``)
        imports = scan_imports("\n".join(lines), path)
        head = chain[0] if chain else name
        if head in imports and (local is None or local.kind == "import"):
            rest = ".".join([*chain[1:], name]) if chain else ""
            module, member = self._follow(imports[head], rest)
            answer = self._member_of_module(module, member, hops=2)
            if answer:
                return IndexAnswer(tuple(answer), evidence="import")
            if not self._in_segment(module):
                return IndexAnswer((external(module, member),), evidence="import")
        if local is not None and not chain:
            return IndexAnswer((replace(local, kind="variable"),))  # an unfollowed local import
        # 5. the whole segment by name (a guess when the chain starts at a local value)
        named = self._named(name)
        candidates = tuple(
            self.location(p, SkeletonEntry(kind, n, qual, "", start, end))
            for p, (kind, n, qual, start, end) in named[:MAX_AMBIGUOUS]
        )
        guess = local is not None and chain not in (["self"], ["cls"])
        ambiguous = len(named) > 1 or (guess and bool(named)) or bool(chain)
        return IndexAnswer(candidates, ambiguous=ambiguous, evidence="name_only")

    def _local_binding(
        self, path: str, entries: Sequence[SkeletonEntry], line: int, name: str
    ) -> SymbolLocation | None:
        """Where ``name`` is bound in the innermost function enclosing ``line``: a parameter
        (from the signature), else the first assignment, ``for`` target, ``with``/``except``
        ``as`` name, walrus or import in its own body (nested definitions skipped). None when
        it is not bound there or is declared ``global``/``nonlocal``."""

        functions = [
            e
            for e in entries
            if e.kind in ("function", "method") and e.line_start <= line <= e.line_end
        ]
        if not functions:
            return None
        func = max(functions, key=lambda e: e.line_start)
        lines = self.lines(path)
        qualname = f"{func.qualname}.<locals>.{name}"
        word = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
        def_line = self.location(path, func).line
        header_end = def_line
        while header_end < min(func.line_end, len(lines), def_line + 50):
            if _code(lines[header_end - 1]).rstrip().endswith(":"):
                break
            header_end += 1
        header = " ".join(_code(t) for t in lines[def_line - 1 : header_end])
        signature = func.signature if "(" in func.signature else header
        if name in signature_params(signature):
            for number in range(def_line, header_end + 1):
                text = lines[number - 1]
                skip = text.find("(") + 1 if number == def_line else 0
                if m := word.search(text, skip):
                    return SymbolLocation(
                        path, number, m.start() + 1, number, "parameter", qualname
                    )
        nested = [
            (e.line_start, e.line_end)
            for e in entries
            if e is not func
            and func.line_start < e.line_start
            and e.line_end <= func.line_end
            and e.kind in ("function", "method", "class")
        ]
        body = range(header_end + 1, min(func.line_end, len(lines)) + 1)
        found: SymbolLocation | None = None
        for number in body:
            if any(start <= number <= end for start, end in nested):
                continue
            text = _code(lines[number - 1])
            if (m := DECLARED.match(text)) and name in [n.strip() for n in m.group(1).split(",")]:
                return None
            if found is None:
                kind = _binds(text, name)
                if kind is not None and (m := word.search(text)):
                    found = SymbolLocation(path, number, m.start() + 1, number, kind, qualname)
        return found

    def _in_segment(self, module: str) -> bool:
        """Whether ``module`` or one of its parent packages is a file of the segment."""

        parts = module.split(".")
        return any(self.locate_module(".".join(parts[:n])) for n in range(len(parts), 0, -1))

    def _member_of_module(self, module: str, member: str, hops: int) -> list[SymbolLocation]:
        split = self.split_selector(Selector(module=module, member=member or None))
        if split is None:
            return []
        path, rest = split
        if rest is None:
            return [self.module_location(path)]
        return self._member(path, rest, hops)

    def _named(self, name: str) -> list[tuple[str, NameRow]]:
        """Every definition called ``name`` in the segment, by path then line."""

        if self._store is None:
            return self._in_memory().get(name, [])
        if not self._synced:
            self._sync(self._store)
            self._synced = True
        return self._store.lookup(name)

    def _rows(self, path: str) -> tuple[NameRow, ...]:
        try:
            found = self._skeleton_of(path).entries
        except TrifectaError:
            return ()
        return tuple((e.kind, e.name, e.qualname, e.line_start, e.line_end) for e in found)

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
