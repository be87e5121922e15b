"""The fallback's position resolver: Python's scoping rules over skeletons and source text.

A position names an identifier, maybe after a receiver (``obj.name``). Without a type
checker, this module still follows what Python itself does:

- a bare name is looked up in the enclosing functions, innermost first (parameters,
  assignments, ``for``/``with``/``except`` targets, local imports, nested ``def``/``class``),
  never in an enclosing class body (unless the position is in that body itself), then in
  the module (top-level definitions, imports followed into the segment, module-level
  assignments, ``from m import *`` of segment modules), then in ``builtins``;
- an attribute is looked up on its receiver when the receiver's class is known: ``self`` and
  ``cls`` (the enclosing class), a class name, ``super()`` (the bases), a value annotated or
  constructed as a class (``x: Foo``, ``x = Foo(...)``, ``self.x = Foo(...)``), a literal
  (``b"".join`` is ``builtins`` / ``bytes.join``), ``module.x`` through that module. On a
  class, the members are its definitions, its class-body assignments and annotations, the
  instance attributes assigned in any of its methods (``self.x = ...``), then its bases;
- a name bound by an import of a module outside the segment is an external answer.

Where the receiver's class is not known, the answer is the segment's definitions of that
name, marked ``name_only`` and ambiguous: never one confident namesake. Of several
definitions of one symbol, an ``@overload``-ed function answers with its implementation and
a property with its getter; the others are listed in ``related_lines``.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from trifecta.application.symbols.fallback import IndexAnswer
from trifecta.application.symbols.flow import ENTRY, KILL, Stmt, reaching, statements
from trifecta.application.symbols.pytext import (
    DECLARED,
    IDENT,
    LOCAL_IMPORT,
    Imported,
    _binds,
    _code,
    closing_bracket,
    external,
    inner_binding,
    module_of,
    scan_imports,
    signature_params,
    statement_starts,
)
from trifecta.domain.model import Skeleton, SkeletonEntry, SymbolLocation
from trifecta.domain.ports import NameRow
from trifecta.domain.records import replace

MAX_CANDIDATES = 20
MAX_STEPS = 200  # type inference steps per query
MAX_DEPTH = 6  # import hops, base classes, attribute chains: enough, and never a loop
BUILTIN_NAMES = frozenset(dir(builtins))
LITERALS = {"str": str, "bytes": bytes, "list": list, "dict": dict, "int": int, "float": float}
FUNCTION_KINDS = ("function", "method")
DEF_KINDS = ("function", "method", "class")
TYPE_WRAPPERS = re.compile(
    r"^(?:(?:typing|t|te|typing_extensions)\.)?(?:Optional|Type|type)\[(.+)\]$"
)
DOTTED = re.compile(r"[A-Za-z_][\w.]*")
RETURNED_CALL = re.compile(r"\s*(?:return|yield)\s+([A-Za-z_][\w.]*)\s*\(")
DELETED = re.compile(r"^\s*del\s+(.+?)\s*$")


class Source(Protocol):
    """What the resolver reads: files as lines, skeletons, modules, the name table."""

    def lines(self, path: str) -> list[str]: ...

    def skeleton(self, path: str) -> Skeleton | None: ...

    def location(self, path: str, entry: SkeletonEntry) -> SymbolLocation: ...

    def module_location(self, path: str) -> SymbolLocation: ...

    def locate_module(self, module: str) -> str | None: ...

    def exists(self, path: str) -> bool: ...

    def named(self, name: str) -> list[tuple[str, NameRow]]: ...


@dataclass(frozen=True)
class Receiver:
    """What stands before ``.name``: ``none`` (a bare name), ``names`` (a dotted chain),
    ``super`` (``super()``), ``literal`` (its builtin type in ``names``), ``call`` (the
    callee's dotted chain in ``names``), ``expr`` (anything else: unknown)."""

    kind: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassRef:
    path: str
    entry: SkeletonEntry


@dataclass(frozen=True)
class Found:
    """Where a name was found and how; ``ambiguous`` when several bindings can be its value
    (nearest first)."""

    locations: tuple[SymbolLocation, ...]
    evidence: str
    ambiguous: bool = False


def target_at(text: str, column: int) -> tuple[str, Receiver] | None:
    """The identifier under a 1-based column and what stands before it."""

    for m in IDENT.finditer(text):
        if m.start() <= column - 1 < m.end():
            return m.group(), _receiver(text, m.start())
    return None


def _receiver(text: str, pos: int) -> Receiver:
    names: list[str] = []
    while True:
        j = pos - 1
        while j >= 0 and text[j] == " ":
            j -= 1
        if j < 0 or text[j] != ".":
            return Receiver("names", tuple(names)) if names else Receiver("none")
        k = j - 1
        while k >= 0 and text[k] == " ":
            k -= 1
        if k < 0:
            return Receiver("expr")  # a continuation line: ``.name`` after a call
        char = text[k]
        if char.isalnum() or char == "_":
            before = re.search(r"[A-Za-z_]\w*$", text[: k + 1])
            if before is None:  # a number
                return Receiver("expr")
            names.insert(0, before.group())
            pos = before.start()
            continue
        if names:
            return Receiver("expr")
        if char == ")":
            start = _opening(text, k, "(", ")")
            if start is None:
                return Receiver("expr")
            callee = re.search(r"[A-Za-z_][\w.]*$", text[:start].rstrip())
            if callee is None:
                return Receiver("expr")
            if callee.group() == "super":
                return Receiver("super")
            return Receiver("call", tuple(callee.group().split(".")))
        if char in "\"'":
            start = text.rfind(char, 0, k)
            prefix = re.search(r"[A-Za-z]*$", text[: max(start, 0)])
            letters = prefix.group().lower() if prefix else ""
            return Receiver("literal", ("bytes" if "b" in letters else "str",))
        if char == "]":
            start = _opening(text, k, "[", "]")
            if start is not None and not re.search(r"[\w)\]]\s*$", text[:start]):
                return Receiver("literal", ("list",))
        if char == "}":
            start = _opening(text, k, "{", "}")
            if start is not None and text[start : k + 1] == "{}":
                return Receiver("literal", ("dict",))
        return Receiver("expr")


def _opening(text: str, close: int, left: str, right: str) -> int | None:
    depth = 0
    for i in range(close, -1, -1):
        if text[i] == right:
            depth += 1
        elif text[i] == left:
            depth -= 1
            if depth == 0:
                return i
    return None


def _dotted(type_text: str) -> str | None:
    """The class named by an annotation (``Foo``, ``"Foo"``, ``Optional[pkg.Foo]``,
    ``Foo | None``, ``dict[str, int]`` -> ``dict``), if it names one."""

    text = type_text.strip().strip("\"'").strip()
    while m := TYPE_WRAPPERS.match(text):
        text = m.group(1).strip().strip("\"'")
    parts = [p.strip() for p in text.split("|") if p.strip() not in ("None", "")]
    if len(parts) != 1:
        return None
    m = DOTTED.fullmatch(re.sub(r"\[.*$", "", parts[0]).strip().strip("\"'"))
    return m.group() if m else None


class ScopeResolver:
    """Resolves positions of one segment (see the module docstring)."""

    def __init__(self, source: Source) -> None:
        self._src = source
        self._steps = 0  # type inference steps of the current query (bounded)
        self._starts: dict[str, list[bool]] = {}  # which lines start a statement, per file/span
        self._bodies: dict[tuple[str, int, int], list[Stmt]] = {}  # statement trees
        self._imports: dict[str, tuple[dict[str, Imported], list[str]]] = {}
        self._levels: dict[str, list[bool]] = {}  # lines outside top-level defs, per file
        self._module_binds: dict[tuple[str, str], dict[int, SymbolLocation | Imported]] = {}

    # ---- entry point ---------------------------------------------------------------------

    def resolve(self, path: str, line: int, column: int) -> IndexAnswer:
        self._steps = 0
        lines = self._src.lines(path)
        if not 1 <= line <= len(lines):
            return IndexAnswer(())
        found = target_at(lines[line - 1], column)
        if found is None:
            return IndexAnswer(())
        name, receiver = found
        entries = self._entries(path)
        if receiver.kind == "none":
            for entry in entries:  # the cursor is on a definition's own name
                loc = self._src.location(path, entry)
                if loc.line == line and entry.name == name:
                    return IndexAnswer((self._pick(path, entry.qualname, loc),), evidence="scope")
            answer = self.lookup(path, line, name, MAX_DEPTH, column)
        else:
            answer = self._attribute(path, line, receiver, name, column)
        if answer is not None:
            return IndexAnswer(
                answer.locations, ambiguous=answer.ambiguous, evidence=answer.evidence
            )
        return self._by_name(name, member=receiver.kind != "none")

    # ---- names ---------------------------------------------------------------------------

    def lookup(
        self,
        path: str,
        line: int,
        name: str,
        depth: int,
        column: int = 0,
        inner_only: bool = False,
    ) -> Found | None:
        """``name`` as Python finds it at (line, column) of ``path``: a comprehension or
        ``lambda`` around the column, enclosing functions, the class body the position is
        directly in, the module, builtins. In a function or a module, the bindings that can
        reach the line answer (``flow``), ambiguous when several can. With ``inner_only``,
        the column is that of a name after ``name`` (``name.attr``): only a comprehension or
        lambda is looked for around it."""

        if column > 0:
            inner = self._inner_binding(path, line, column, name, inner_only)
            if inner is not None:
                return Found((inner,), "scope")
        entries = self._entries(path)
        scopes = sorted(
            (e for e in entries if e.kind in DEF_KINDS and e.line_start <= line <= e.line_end),
            key=lambda e: e.line_start,
            reverse=True,
        )
        for index, scope in enumerate(scopes):
            if scope.kind == "class":
                if index == 0:  # directly in the class body
                    member = self._class_body_name(path, scope, name)
                    if member is not None:
                        return Found((replace(member, kind=_plain(member.kind)),), "scope")
                continue
            # from a nested function, what reaches it is what is bound above its ``def``
            anchor = line if index == 0 else scopes[index - 1].line_start
            bound = self._function_binding(
                path, entries, scope, name, anchor, column, nested=index > 0
            )
            if bound == "global":
                break
            if isinstance(bound, tuple):
                answers: list[SymbolLocation] = []
                for binding in bound:
                    if binding.kind == "import":
                        followed = self._local_import(path, binding.line, name, depth)
                        if followed is not None:
                            answers.extend(followed.locations[:1])
                            continue
                    answers.append(binding)
                if len(bound) == 1 and bound[0].kind == "import" and answers != list(bound):
                    return Found(tuple(answers), "import")
                unique = tuple(dict.fromkeys(answers))
                return Found(unique, "scope", ambiguous=len(unique) > 1)
        # at module level (a class body there runs in order too) the use sees what reaches
        # its statement; a function runs later, when the module has run to its end
        at: int | None = line
        if any(s.kind in FUNCTION_KINDS for s in scopes):
            at = None
        elif scopes:
            at = scopes[-1].line_start
        return self.module_lookup(path, name, depth, at)

    def _inner_binding(
        self, path: str, line: int, column: int, name: str, after: bool
    ) -> SymbolLocation | None:
        """A comprehension's target or a lambda's parameter that binds ``name`` at the
        position (the statement around it read as one text, at most 30 lines each way)."""

        lines = self._src.lines(path)
        if not 1 <= line <= len(lines):
            return None
        window = lines[max(0, line - 31) : line + 30]
        if not any("for" in t or "lambda" in t for t in window):
            return None
        functions = [
            e
            for e in self._entries(path)
            if e.kind in FUNCTION_KINDS and e.line_start <= line <= e.line_end
        ]
        span = None
        if functions:
            innermost = max(functions, key=lambda e: e.line_start)
            span = (innermost.line_start, innermost.line_end)
        first = line
        while first > 1 and line - first < 30 and not self._is_statement(path, first, span):
            first -= 1
        last = line
        while (
            last < len(lines) and last - line < 30 and not self._is_statement(path, last + 1, span)
        ):
            last += 1
        text = "\n".join(_code(t) for t in lines[first - 1 : last])
        if "for" not in text and "lambda" not in text:
            return None
        offsets = [0]
        for t in lines[first - 1 : last]:
            offsets.append(offsets[-1] + len(_code(t)) + 1)
        offset = offsets[line - first] + column - 1
        if after:  # the receiver stands just before the attribute
            before = text.rfind(name, 0, offset)
            offset = before if before >= 0 else offset
        found = inner_binding(text, offset, name)
        if found is None:
            return None
        at, what = found
        number = first + max(i for i, o in enumerate(offsets[:-1]) if o <= at)
        col = at - offsets[number - first] + 1
        kind = "parameter" if what == "lambda" else "variable"
        return SymbolLocation(path, number, col, number, kind, f"<{what}>.{name}")

    def module_lookup(
        self, path: str, name: str, depth: int, line: int | None = None
    ) -> Found | None:
        """A module-level name of ``path`` as seen at ``line`` (None: after the module ran):
        definitions, imports, assignments, star imports, then builtins. When several
        module-level statements bind it, those that can reach the use (``flow``) answer,
        ambiguous when more than one does."""

        entries = self._entries(path)
        if depth > 0:
            several = self._module_flow(path, name, depth, line)
            if several is not None:
                return several
        for entry in entries:
            if entry.qualname == name:
                return Found((self._pick(path, name, self._src.location(path, entry)),), "scope")
        imports, stars = self._module_imports(path)
        if name in imports and depth > 0:
            followed = self._follow(imports[name], depth - 1)
            if followed is not None:
                return followed
        assigned = self._module_assignment(path, entries, name)
        if assigned is not None:
            return Found((assigned,), "scope")
        if depth > 0:
            for module in stars:
                target = self._src.locate_module(module)
                if target is not None and target != path:
                    found = self.module_lookup(target, name, depth - 1)
                    if found is not None and not _is_builtin(found):
                        return Found(found.locations, "import")
        if name in BUILTIN_NAMES:
            kind = "class" if isinstance(getattr(builtins, name), type) else "function"
            return Found((replace(external("builtins", name), kind=kind),), "scope")
        return None

    def _module_flow(self, path: str, name: str, depth: int, line: int | None) -> Found | None:
        """The answer when ``name`` is bound by more than one module-level statement of
        ``path`` (``if``/``try`` arms, a conditional import, a redefinition), else None."""

        binds = self._module_bindings(path, name)
        if len(binds) < 2:
            return None
        key = (path, 0, 0)
        body = self._bodies.get(key)
        if body is None:
            spans = [
                (e.line_start, e.line_end)
                for e in self._entries(path)
                if e.depth == 0 and e.kind in DEF_KINDS
            ]
            lines = self._src.lines(path)
            body = statements(lines, self._line_starts(path), 1, len(lines), _top_spans(spans))
            self._bodies[key] = body
        live = reaching(body, dict.fromkeys(binds, "bind"), line, self._src.lines(path))
        chosen = sorted((n for n in live if n in binds), reverse=True)
        if line is not None:  # nearest above first, then any below (loops)
            chosen = [n for n in chosen if n < line] + sorted(n for n in chosen if n >= line)
        if not chosen:
            return None
        answers: list[SymbolLocation] = []
        evidence = "scope"
        for number in chosen:
            binding = binds[number]
            if isinstance(binding, Imported):
                followed = self._follow(binding, depth - 1)
                if followed is None:
                    continue
                answers.append(followed.locations[0])
                evidence = "import" if len(chosen) == 1 else evidence
            else:
                answers.append(binding)
        unique = tuple(dict.fromkeys(answers))
        if not unique:
            return None
        return Found(unique, evidence, ambiguous=len(unique) > 1)

    def _module_bindings(self, path: str, name: str) -> dict[int, SymbolLocation | Imported]:
        """Module-level statements binding ``name``, by line: definitions (an ``@overload``
        group or property accessors count once), imports, assignments, ``for``/``with``
        targets; nothing inside a top-level ``def`` or ``class``."""

        key = (path, name)
        cached = self._module_binds.get(key)
        if cached is not None:
            return cached
        found: dict[int, SymbolLocation | Imported] = {}
        entries = self._entries(path)
        level = self._module_level(path)
        picked = False
        for entry in entries:
            if entry.depth == 0 and entry.qualname == name:
                loc = self._src.location(path, entry)
                if entry.kind in DEF_KINDS:
                    if not picked:  # overloads, accessors: one symbol, its chosen line
                        chosen = self._pick(path, name, loc)
                        found[chosen.line] = chosen
                        picked = True
                    continue
                found[loc.line] = loc
        lines = self._src.lines(path)
        word = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
        candidates = [
            number
            for number, raw in enumerate(lines, start=1)
            if name in raw and number not in found and word.search(raw) and level[number - 1]
        ]
        # cheap first: fewer than two possible bindings need no statement reading
        maybe = len(found)
        for n in candidates:
            text = _code(lines[n - 1]).rstrip()
            if LOCAL_IMPORT.match(text):
                maybe += name in scan_imports(text.strip(), path)
            else:
                maybe += _binds(text, name) is not None
        if maybe == 1:  # one more in a parenthesised import list?
            maybe += name in self._module_imports(path)[0]
        if maybe < 2:
            self._module_binds[key] = found
            return found
        for number in candidates:
            start = number
            while start > 1 and not self._is_statement(path, start):
                start -= 1  # a name on a continuation line of an import
            text = _code(lines[start - 1])
            if LOCAL_IMPORT.match(text):
                follow = start
                while "(" in text and ")" not in text and follow < len(lines):
                    text += " " + _code(lines[follow])
                    follow += 1
                imported = scan_imports(text.strip(), path).get(name)
                if imported is not None:
                    found[start] = imported
                continue
            if start != number:
                continue
            if _binds(text, name) == "variable" and (m := word.search(text)):
                found[number] = SymbolLocation(
                    path, number, m.start() + 1, number, "variable", name
                )
        self._module_binds[key] = found
        return found

    def _follow(self, imported: Imported, depth: int) -> Found | None:
        """What an imported name is: a module, a member of a segment module, or external;
        ambiguous when the package's own stub (``__init__.pyi``) re-exports it from
        elsewhere (type checkers read the stub, Python the module: both are listed)."""

        found = self._follow_runtime(imported, depth)
        if imported.name is None:
            return found
        package = self._src.locate_module(imported.module)
        return _with_stub(found, self._stub_view(package, imported.name, depth))

    def _stub_view(self, path: str | None, name: str, depth: int) -> Found | None:
        """What the stub next to module ``path`` (``m.pyi`` beside ``m.py``) imports as
        ``name``, followed; None when there is no stub or it does not import ``name``."""

        if path is None or not path.endswith(".py") or depth <= 0:
            return None
        stub = path + "i"
        if not self._src.exists(stub):
            return None
        imported = scan_imports("\n".join(self._src.lines(stub)), path).get(name)
        if imported is None:
            return None
        return self._follow_runtime(imported, depth - 1)

    def _follow_runtime(self, imported: Imported, depth: int) -> Found | None:
        if imported.name is None:
            target = self._src.locate_module(imported.module)
            if target is not None:
                return Found((self._src.module_location(target),), "import")
            return None if self._in_segment(imported.module) else _outside(imported.module, "")
        submodule = f"{imported.module}.{imported.name}"
        target = self._src.locate_module(submodule)
        if target is not None:
            return Found((self._src.module_location(target),), "import")
        source = self._src.locate_module(imported.module)
        if source is None:
            return (
                None
                if self._in_segment(imported.module)
                else _outside(imported.module, imported.name)
            )
        found = self.module_lookup(source, imported.name, depth)
        if found is None or _is_builtin(found):
            return None
        return Found(found.locations, "import")

    def _local_import(self, path: str, number: int, name: str, depth: int) -> Found | None:
        """What the import statement starting at line ``number`` binds ``name`` to."""

        lines = self._src.lines(path)
        text = _code(lines[number - 1])
        follow = number
        while "(" in text and ")" not in text and follow < len(lines):  # a parenthesised list
            text += " " + _code(lines[follow])
            follow += 1
        imported = scan_imports(text.strip(), path).get(name)
        return self._follow(imported, depth - 1) if imported is not None else None

    def _in_segment(self, module: str) -> bool:
        parts = module.split(".")
        return any(self._src.locate_module(".".join(parts[:n])) for n in range(len(parts), 0, -1))

    # ---- attributes ----------------------------------------------------------------------

    def _attribute(
        self, path: str, line: int, receiver: Receiver, name: str, column: int = 0
    ) -> Found | None:
        if receiver.kind == "literal":
            kind = LITERALS.get(receiver.names[0])
            if kind is not None and hasattr(kind, name):
                loc = external("builtins", f"{receiver.names[0]}.{name}")
                return Found((replace(loc, kind="method"),), "receiver")
            return None
        if receiver.kind == "super":
            cls = self._enclosing_class(path, line)
            if cls is None:
                return None
            for base in self._bases(cls, MAX_DEPTH):
                if isinstance(base, ClassRef):
                    found = self._member(base, name, MAX_DEPTH)
                else:
                    found = _in_external_base(base.locations[0], name)
                if found is not None:
                    return found
            return None
        if receiver.kind == "call":
            called = self._value_of_chain(path, line, list(receiver.names), instance=True)
            return self._on_value(called, name)
        if receiver.kind != "names":
            return None
        head, rest = receiver.names[0], list(receiver.names[1:])
        if head in ("self", "cls") and self._is_method_receiver(path, line, head):
            value: ClassRef | Found | None = self._enclosing_class(path, line)
            for attr in rest:
                value = self._attribute_value(value, attr)
            return self._on_value(value, name)
        start = self.lookup(path, line, head, MAX_DEPTH, column, inner_only=True)
        if start is None:
            return None
        loc = start.locations[0]
        if loc.external:
            if loc.module == "builtins":
                return None  # a builtin used as a receiver: its type is not known here
            qual = ".".join(x for x in (loc.qualname or "", *rest, name) if x)
            return _outside(loc.module or "", qual)
        value = self._value_of(loc, instance=False)
        for attr in rest:
            value = self._attribute_value(value, attr)
        return self._on_value(value, name)

    def _on_value(self, value: ClassRef | Found | None, name: str) -> Found | None:
        """``name`` looked up on a value: a class (instance or class), a module, or an
        external value."""

        if isinstance(value, ClassRef):
            return self._member(value, name, MAX_DEPTH)
        if isinstance(value, Found):
            loc = value.locations[0]
            if loc.external:
                if loc.module == "builtins":  # checked: a builtin type's member, or nothing
                    return _in_external_base(loc, name) if loc.kind == "class" else None
                qual = ".".join(x for x in (loc.qualname or "", name) if x)
                return _outside(loc.module or "", qual)
            if loc.kind == "module":
                stub = self._stub_view(loc.path, name, MAX_DEPTH)
                found = self.module_lookup(loc.path, name, MAX_DEPTH)
                if found is None:
                    module = module_of(loc.path)
                    sub = self._src.locate_module(f"{module}.{name}") if module else None
                    if sub is not None:
                        found = Found((self._src.module_location(sub),), "import")
                    return _with_stub(found, stub)
                if _is_builtin(found):
                    return stub
                return _with_stub(Found(found.locations, "import", found.ambiguous), stub)
        return None

    def _value_of_chain(
        self, path: str, line: int, names: list[str], instance: bool
    ) -> ClassRef | Found | None:
        """What a dotted chain stands for; with ``instance``, what calling it returns (an
        instance of a class, or what a function's return annotation names)."""

        self._steps += 1
        if self._steps > MAX_STEPS:
            return None
        start = self.lookup(path, line, names[0], MAX_DEPTH)
        if start is None:
            return None
        loc = start.locations[0]
        for attr in names[1:]:
            found = self._on_value(self._value_of(loc, instance=False), attr)
            if found is None:
                return None
            loc = found.locations[0]
        if instance and loc.kind in FUNCTION_KINDS and not loc.external:
            return self._returns(loc)
        value = self._value_of(loc, instance=False)
        if instance and isinstance(value, Found):
            made = value.locations[0]
            if made.external and not (made.module == "builtins" and made.kind == "class"):
                return None  # the result of calling something outside: unknown
        return value

    def _returns(self, loc: SymbolLocation) -> ClassRef | None:
        """The class a function's return annotation names, resolved where it is defined."""

        entry = self._entry_at(loc.path, loc.line, loc.kind)
        if entry is None:
            return None
        _, arrow, result = entry.signature.rpartition("->")
        type_name = _dotted(result) if arrow else None
        if type_name is None:
            return None
        value = self._value_of_chain(loc.path, loc.line, type_name.split("."), instance=False)
        return value if isinstance(value, ClassRef) else None

    def _attribute_value(
        self, value: ClassRef | Found | None, attr: str
    ) -> ClassRef | Found | None:
        """What ``value.attr`` is, as far as it can be known: a class (for chains)."""

        found = self._on_value(value, attr)
        if found is None:
            return None
        return self._value_of(found.locations[0], instance=False)

    def _value_of(self, loc: SymbolLocation, instance: bool) -> ClassRef | Found | None:
        """The value a definition stands for: a class (itself or an instance of it), a
        module, something external; None when it cannot be told."""

        if loc.external or loc.kind == "module":
            return Found((loc,), "import")
        if loc.kind == "class":
            entry = self._entry_at(loc.path, loc.line, "class")
            return ClassRef(loc.path, entry) if entry is not None else None
        if loc.kind in ("parameter", "variable"):
            type_name = self._declared_type(loc)
            if type_name is None:
                return self._fixture(loc) if loc.kind == "parameter" else None
            parts = type_name.split(".")
            return self._value_of_chain(loc.path, loc.line, parts, instance=True)
        if loc.kind == "method":  # a property's value is what its getter returns
            entry = self._entry_at(loc.path, loc.line, "method")
            if entry is not None and any(d.endswith("property") for d in entry.decorators):
                return self._returns(loc)
        return None

    def _declared_type(self, loc: SymbolLocation) -> str | None:
        """The class a parameter or variable is declared or constructed as, from its line:
        ``x: Foo``, ``x: Foo = ...``, ``x = Foo(...)``, ``self.x = pkg.Foo(...)``."""

        lines = self._src.lines(loc.path)
        if not 1 <= loc.line <= len(lines):
            return None
        text = _code(lines[loc.line - 1])
        name = (loc.qualname or "").rpartition(".")[2]
        at = loc.column - 1
        tail = text[at + len(name) :] if text[at : at + len(name)] == name else ""
        if loc.kind == "parameter":
            m = re.match(r"\s*:\s*([^=,)]+)", tail)
            if m:
                return _dotted(m.group(1))
            stars = len(text[:at]) - len(text[:at].rstrip("*"))
            return {1: "tuple", 2: "dict"}.get(stars)  # *args, **kwargs
        m = re.match(r"\s*:\s*([^=]+?)\s*(?:=|$)", tail)
        if m:
            return _dotted(m.group(1))
        m = re.match(r"\s*=\s*([A-Za-z_][\w.]*)\s*\(", tail)  # only a class makes an instance
        if m:
            close = closing_bracket(tail, m.end() - 1)
            after = tail[close + 1 :].strip() if close is not None else ""
            # ``x = Foo(...).prepare()``: what the chain returns, not a Foo
            return None if after.startswith((".", "(", "[")) else m.group(1)
        m = re.match(r"\s*=\s*([bBrRuUfF]*)([\[{\"'])", tail)  # a literal
        if m is None:
            return None
        if m.group(2) == "[":
            return "list"
        if m.group(2) == "{":
            return "dict" if re.match(r"\s*=\s*\{\s*(\}|[^,]*:)", tail) else None
        return "bytes" if "b" in m.group(1).lower() else "str"

    def _fixture(self, loc: SymbolLocation) -> ClassRef | Found | None:
        """A test's parameter named after a pytest fixture (in its file or a ``conftest.py``
        above it): what the fixture returns, by its return annotation or its ``return``/
        ``yield`` of a constructor call."""

        if not _is_test_file(loc.path):
            return None
        name = (loc.qualname or "").rpartition(".")[2]
        folders = loc.path.split("/")[:-1]
        places = [loc.path] + [
            "/".join([*folders[:n], "conftest.py"]) for n in range(len(folders), -1, -1)
        ]
        for path in places:
            if not self._src.exists(path):
                continue
            for entry in self._entries(path):
                if entry.depth or entry.name != name or entry.kind != "function":
                    continue
                if not any("fixture" in d for d in entry.decorators):
                    continue
                where = self._src.location(path, entry)
                returned = self._returns(where)
                if returned is not None:
                    return returned
                lines = self._src.lines(path)
                for number in range(where.line + 1, min(entry.line_end, len(lines)) + 1):
                    m = RETURNED_CALL.match(_code(lines[number - 1]))
                    if m:
                        return self._value_of_chain(
                            path, number, m.group(1).split("."), instance=True
                        )
        return None

    # ---- classes -------------------------------------------------------------------------

    def _member(self, cls: ClassRef, name: str, depth: int) -> Found | None:
        """``name`` on a class: its definitions, class-body names, instance attributes
        assigned in its methods, then its bases (depth-first, in order)."""

        path, entry = cls.path, cls.entry
        for member in self._entries(path):
            if member.qualname == f"{entry.qualname}.{name}":
                loc = self._src.location(path, member)
                return Found((self._pick(path, member.qualname, loc),), "receiver")
        # assignments first (in the class body, then ``self.x = ...`` in its methods), then
        # a bare annotation (``x: int``) that only declares the attribute
        body = self._class_body_name(path, entry, name)
        assigned = self._instance_attribute(path, entry, name)
        if body is not None and body.kind == "variable" and assigned is not None:
            # a class-level value that methods rebind on the instance: either can be the
            # value at the use (the instance's once a method ran)
            return Found((assigned, body), "receiver", ambiguous=True)
        if body is not None and body.kind != "declaration":
            return Found((body,), "receiver")
        if assigned is not None:
            return Found((assigned,), "receiver")
        if body is not None:
            return Found((replace(body, kind="variable"),), "receiver")
        if depth > 0:
            for base in self._bases(cls, depth - 1):
                if isinstance(base, Found):
                    found = _in_external_base(base.locations[0], name)
                else:
                    found = self._member(base, name, depth - 1)
                if found is not None:
                    return found
        return None

    def _bases(self, cls: ClassRef, depth: int) -> list[ClassRef | Found]:
        """The base classes named in the class statement, resolved in its module."""

        signature = cls.entry.signature
        start, end = signature.find("("), signature.rfind(")")
        if start < 0 or end < start:
            return []
        out: list[ClassRef | Found] = []
        for part in _split_top(signature[start + 1 : end]):
            part = part.strip()
            if not part or "=" in part or part.startswith("*"):
                continue
            base = re.sub(r"\[.*$", "", part).strip()
            if not DOTTED.fullmatch(base) or depth <= 0:
                continue
            names = base.split(".")
            start_found = self.lookup(cls.path, cls.entry.line_start, names[0], depth)
            if start_found is None:
                continue
            value = self._value_of(start_found.locations[0], instance=False)
            for attr in names[1:]:
                value = self._attribute_value(value, attr)
            if (isinstance(value, ClassRef) and value.entry != cls.entry) or isinstance(
                value, Found
            ):
                out.append(value)
        return out

    def _class_body_name(self, path: str, cls: SkeletonEntry, name: str) -> SymbolLocation | None:
        """``name`` bound in the class body itself (an assignment or annotation)."""

        for member in self._entries(path):
            if member.qualname == f"{cls.qualname}.{name}":
                return self._pick(path, member.qualname, self._src.location(path, member))
        lines = self._src.lines(path)
        inner = self._nested_spans(path, cls)
        indent: int | None = None
        word = re.compile(rf"^(\s*){re.escape(name)}\s*(:|=(?!=))")
        for number in range(cls.line_start + 1, min(cls.line_end, len(lines)) + 1):
            text = _code(lines[number - 1])
            if not text.strip() or any(a <= number <= b for a, b in inner):
                continue
            here = len(text) - len(text.lstrip())
            if indent is None:
                indent = here
            if here != indent:
                continue
            m = word.match(text)
            if m and self._is_statement(path, number, (cls.line_start, cls.line_end)):
                declared = m.group(2) == ":" and "=" not in text[m.end(2) :].replace("==", "")
                kind = "declaration" if declared else "variable"
                qual = f"{cls.qualname}.{name}"
                return SymbolLocation(path, number, here + 1, number, kind, qual)
        return None

    def _instance_attribute(
        self, path: str, cls: SkeletonEntry, name: str
    ) -> SymbolLocation | None:
        """The first ``self.name = ...`` (or ``cls.name``, annotated, augmented, a tuple
        target) in the class's own methods."""

        lines = self._src.lines(path)
        pattern = re.compile(
            rf"(?<![\w.])(?:self|cls)\.({re.escape(name)})\s*(?::[^=]+)?"
            r"(?:(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)|,[^=]*=(?!=))"
        )
        nested_classes = [
            (e.line_start, e.line_end)
            for e in self._entries(path)
            if e.kind == "class"
            and e is not cls
            and cls.line_start < e.line_start
            and e.line_end <= cls.line_end
        ]
        for number in range(cls.line_start + 1, min(cls.line_end, len(lines)) + 1):
            if any(a <= number <= b for a, b in nested_classes):
                continue
            text = _code(lines[number - 1])
            if "self." not in text and "cls." not in text:
                continue
            m = pattern.search(text)
            if m and self._is_statement(path, number, (cls.line_start, cls.line_end)):
                return SymbolLocation(
                    path, number, m.start(1) + 1, number, "variable", f"{cls.qualname}.{name}"
                )
        return None

    def _nested_spans(self, path: str, cls: SkeletonEntry) -> list[tuple[int, int]]:
        return [
            (e.line_start, e.line_end)
            for e in self._entries(path)
            if e.kind in DEF_KINDS
            and e is not cls
            and cls.line_start < e.line_start
            and e.line_end <= cls.line_end
        ]

    def _enclosing_class(self, path: str, line: int) -> ClassRef | None:
        classes = [
            e
            for e in self._entries(path)
            if e.kind == "class" and e.line_start <= line <= e.line_end
        ]
        if not classes:
            return None
        return ClassRef(path, max(classes, key=lambda e: e.line_start))

    def _is_method_receiver(self, path: str, line: int, head: str) -> bool:
        """``self``/``cls`` is the receiver when a method (or a function nested in one)
        encloses the line and ``head`` is not rebound as something else."""

        functions = [
            e
            for e in self._entries(path)
            if e.kind in FUNCTION_KINDS and e.line_start <= line <= e.line_end
        ]
        return any(e.kind == "method" for e in functions) or any(
            "." in e.qualname for e in functions
        )

    def _entry_at(self, path: str, line: int, kind: str) -> SkeletonEntry | None:
        for entry in self._entries(path):
            if (
                entry.kind == kind
                and entry.line_start <= line <= entry.line_end
                and self._src.location(path, entry).line == line
            ):
                return entry
        return None

    # ---- functions and modules -----------------------------------------------------------

    def _function_binding(
        self,
        path: str,
        entries: Sequence[SkeletonEntry],
        func: SkeletonEntry,
        name: str,
        line: int,
        column: int = 0,
        nested: bool = False,
    ) -> tuple[SymbolLocation, ...] | str | None:
        """Where ``func`` binds ``name`` for a use at (line, column): of its parameters,
        nested definitions and binding statements in its own body, the ones that can reach
        the use (``flow.reaching``), nearest above first (the binding itself when the cursor
        is on it); with ``nested``, the use is in a nested function defined at ``line``, which
        may run after any later binding too. "global" when declared global/nonlocal; None
        when it does not bind it."""

        lines = self._src.lines(path)
        qualname = f"{func.qualname}.<locals>.{name}"
        word = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
        def_line = self._src.location(path, func).line
        header_end = def_line
        while header_end < min(func.line_end, len(lines), def_line + 50):
            if _code(lines[header_end - 1]).rstrip().endswith(":"):
                break
            header_end += 1
        header = " ".join(_code(t) for t in lines[def_line - 1 : header_end])
        signature = func.signature if "(" in func.signature else header
        parameter: SymbolLocation | None = None
        bindings: list[SymbolLocation] = []
        kills: list[int] = []
        if name in signature_params(signature):
            for number in range(def_line, header_end + 1):
                text = lines[number - 1]
                skip = text.find("(") + 1 if number == def_line else 0
                if m := word.search(text, skip):
                    parameter = SymbolLocation(
                        path, number, m.start() + 1, number, "parameter", qualname
                    )
                    break
        inner = [
            e
            for e in entries
            if e is not func
            and func.line_start < e.line_start
            and e.line_end <= func.line_end
            and e.kind in DEF_KINDS
        ]
        for e in inner:
            if e.qualname == f"{func.qualname}.{e.name}" and e.name == name:
                bindings.append(self._src.location(path, e))
        spans = [(e.line_start, e.line_end) for e in inner]
        for number in range(header_end + 1, min(func.line_end, len(lines)) + 1):
            if name not in lines[number - 1] or any(a <= number <= b for a, b in spans):
                continue
            text = _code(lines[number - 1])
            if name not in text:
                continue
            if (m := DECLARED.match(text)) and name in [n.strip() for n in m.group(1).split(",")]:
                return "global"
            if not self._is_statement(path, number, (func.line_start, func.line_end)):
                continue
            if (m := DELETED.match(text)) and name in [n.strip() for n in m.group(1).split(",")]:
                kills.append(number)
                continue
            kind = _binds(text, name)  # ``x += 1`` binds ``x`` too (Python stores it)
            if kind is not None and (m := word.search(text)):
                bindings.append(SymbolLocation(path, number, m.start() + 1, number, kind, qualname))
        everything = ([parameter] if parameter else []) + bindings
        if not everything:
            return None
        everything.sort(key=lambda b: (b.line, b.column))
        for b in everything:
            if b.line == line and b.column == column:
                return (b,)
        if not bindings:
            return (everything[0],)
        by_line = {b.line: b for b in reversed(bindings)}  # the first binding of a line
        body = statements(
            lines,
            self._line_starts(path, (func.line_start, func.line_end)),
            header_end + 1,
            func.line_end,
            _top_spans(spans),
        )
        marks = {number: "bind" for number in by_line}
        marks.update({number: KILL for number in kills})
        live = reaching(body, marks, line, lines)
        found = [by_line[n] for n in live if n in by_line]
        if ENTRY in live and parameter is not None:
            found.append(parameter)
        if nested:  # a closure runs later: any binding after its ``def`` may be the value
            found += [b for b in bindings if b.line > line and b not in found]
        if not found:  # the use is not reached by any (tolerant reading): the nearest above
            above = [b for b in everything if b.line < line]
            return (above[-1] if above else everything[0],)
        above = sorted((b for b in found if b.line < line), key=lambda b: -b.line)
        below = sorted((b for b in found if b.line >= line), key=lambda b: b.line)
        return tuple(above + below)

    def _module_level(self, path: str) -> list[bool]:
        """For each line, whether it is outside every top-level ``def``/``class`` (once per
        file and query)."""

        mask = self._levels.get(path)
        if mask is None:
            mask = [True] * len(self._src.lines(path))
            for e in self._entries(path):
                if e.depth == 0 and e.kind in DEF_KINDS:
                    mask[e.line_start - 1 : e.line_end] = [False] * max(
                        0, min(e.line_end, len(mask)) - e.line_start + 1
                    )
            self._levels[path] = mask
        return mask

    def _module_imports(self, path: str) -> tuple[dict[str, Imported], list[str]]:
        """Module-level imports (outside any top-level def/class) and star-imported modules
        (once per file and query)."""

        cached = self._imports.get(path)
        if cached is None:
            cached = self._imports[path] = self._scan_module_imports(path)
        return cached

    def _scan_module_imports(self, path: str) -> tuple[dict[str, Imported], list[str]]:
        lines = self._src.lines(path)
        level = self._module_level(path)
        text = "\n".join(t if top else "" for t, top in zip(lines, level, strict=False))
        imports = scan_imports(text, path)
        stars: list[str] = []
        if "*" in text:
            package = (module_of(path) or "").split(".")
            if not path.endswith("/__init__.py"):
                package = package[:-1]
            for m in re.finditer(r"^\s*from\s+(\.*)([\w.]*)\s+import\s+\*", text, re.M):
                dots, rest = len(m.group(1)), m.group(2)
                if dots:
                    keep = len(package) - (dots - 1)
                    if keep < 0:
                        continue
                    rest = ".".join([*package[:keep], *([rest] if rest else [])])
                if rest:
                    stars.append(rest)
        return imports, stars

    def _module_assignment(
        self, path: str, entries: Sequence[SkeletonEntry], name: str
    ) -> SymbolLocation | None:
        lines = self._src.lines(path)
        level = self._module_level(path)
        word = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
        for number, raw in enumerate(lines, start=1):
            if name not in raw or not level[number - 1]:
                continue
            text = _code(raw)
            kind = _binds(text, name)
            if kind == "variable" and self._is_statement(path, number) and (m := word.search(text)):
                return SymbolLocation(path, number, m.start() + 1, number, "variable", name)
        return None

    def _is_statement(self, path: str, number: int, span: tuple[int, int] | None = None) -> bool:
        """Whether line ``number`` starts a statement, read within ``span`` (the lines of
        a ``def`` or ``class``, whose first line starts one) or the whole file."""

        starts = self._line_starts(path, span)
        return not 1 <= number <= len(starts) or starts[number - 1]

    def _line_starts(self, path: str, span: tuple[int, int] | None = None) -> list[bool]:
        """Which lines start a statement (once per file, or per span, and query): reading a
        whole 3,000-line file costs milliseconds, a function's lines almost nothing."""

        whole = self._starts.get(path)
        if whole is not None:
            return whole
        lines = self._src.lines(path)
        if span is None or span[0] <= 1:
            whole = self._starts[path] = statement_starts(lines)
            return whole
        first, last = span[0], min(span[1], len(lines))
        key = f"{path}\0{first}\0{last}"
        starts = self._starts.get(key)
        if starts is None:
            local = statement_starts(lines[first - 1 : last])
            starts = [True] * (first - 1) + local + [True] * (len(lines) - last)
            self._starts[key] = starts
        return starts

    def _entries(self, path: str) -> tuple[SkeletonEntry, ...]:
        skeleton = self._src.skeleton(path)
        return skeleton.entries if skeleton is not None else ()

    def _pick(self, path: str, qualname: str, loc: SymbolLocation) -> SymbolLocation:
        """Of several definitions of one qualified name: the implementation of an
        ``@overload``-ed function, the getter of a property; the others' lines related."""

        same = [e for e in self._entries(path) if e.qualname == qualname]
        if len(same) < 2:
            return loc
        overloads = [
            e for e in same if any(d.rpartition(".")[2] == "overload" for d in e.decorators)
        ]
        accessors = [
            e for e in same if any(d.endswith((".setter", ".deleter")) for d in e.decorators)
        ]
        rest = [e for e in same if e not in overloads and e not in accessors]
        chosen = rest[-1] if overloads and rest else (rest[0] if rest else same[0])
        chosen_loc = self._src.location(path, chosen)
        others = sorted(self._src.location(path, e).line for e in same if e is not chosen)
        return replace(chosen_loc, related_lines=tuple(others))

    def _by_name(self, name: str, member: bool) -> IndexAnswer:
        """The segment's definitions called ``name`` (members first for an attribute):
        a guess, always ambiguous."""

        rows = self._src.named(name)
        if member:
            members = [r for r in rows if "." in r[1][2]]
            rows = members or rows
        candidates = tuple(
            self._src.location(p, SkeletonEntry(kind, n, qual, "", start, end))
            for p, (kind, n, qual, start, end) in rows[:MAX_CANDIDATES]
        )
        return IndexAnswer(candidates, ambiguous=bool(candidates), evidence="name_only")


INSTANCE_ATTRIBUTE = re.compile(r"(?<![\w.])self\.([A-Za-z_]\w*)\s*(?::[^=]+)?=(?!=)")
CLASS_BODY_NAME = re.compile(r"^(\s*)([A-Za-z_]\w*)\s*(?::|=(?!=))")


def attribute_rows(lines: Sequence[str], entries: Sequence[SkeletonEntry]) -> list[NameRow]:
    """Name-table rows for class attributes the skeleton does not list: names assigned or
    annotated in a class body and ``self.x = ...`` in its methods (first of each), so a
    search by name finds them as candidates too."""

    rows: list[NameRow] = []
    starts = statement_starts(list(lines)) if any(e.kind == "class" for e in entries) else []
    for cls in entries:
        if cls.kind != "class":
            continue
        listed = {e.qualname for e in entries}
        seen: set[str] = set()
        inner = [
            (e.line_start, e.line_end)
            for e in entries
            if e is not cls and cls.line_start < e.line_start and e.line_end <= cls.line_end
        ]
        nested_classes = [
            (e.line_start, e.line_end)
            for e in entries
            if e.kind == "class"
            and e is not cls
            and cls.line_start < e.line_start
            and e.line_end <= cls.line_end
        ]
        indent: int | None = None
        for number in range(cls.line_start + 1, min(cls.line_end, len(lines)) + 1):
            text = _code(lines[number - 1])
            if not text.strip() or not starts[number - 1]:
                continue
            if not any(a <= number <= b for a, b in inner):
                here = _indent(text)
                indent = here if indent is None else indent
                if here == indent and (m := CLASS_BODY_NAME.match(text)):
                    names = [m.group(2)]
                else:
                    names = []
            elif "self." in text and not any(a <= number <= b for a, b in nested_classes):
                names = INSTANCE_ATTRIBUTE.findall(text)
            else:
                names = []
            for name in names:
                qual = f"{cls.qualname}.{name}"
                if qual not in seen and qual not in listed and not keyword.iskeyword(name):
                    seen.add(qual)
                    rows.append(("variable", name, qual, number, number))
    return rows


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _with_stub(found: Found | None, stub: Found | None) -> Found | None:
    """The module's answer and its stub's, both listed (the stub's first, as type checkers
    read it) and ambiguous when they differ."""

    if stub is None or (found is not None and found.locations[0] == stub.locations[0]):
        return found
    if found is None:
        return stub
    both = tuple(dict.fromkeys((*stub.locations[:1], *found.locations)))
    return Found(both, "import", ambiguous=True)


def _outside(module: str, member: str) -> Found:
    return Found((external(module, member),), "import")


def _is_test_file(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(p in ("tests", "test", "testing") for p in parts[:-1])
    )


def _in_external_base(base: SymbolLocation, name: str) -> Found | None:
    """``name`` on a builtin base class (checked to exist there); None for any other
    external base, whose members are not known here (never a guess presented as certain)."""

    if not base.external or not base.qualname or base.module != "builtins":
        return None  # another module's class: its members are not known here
    if not hasattr(getattr(builtins, base.qualname, None), name):
        return None
    return Found((external("builtins", f"{base.qualname}.{name}"),), "receiver")


def _top_spans(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The outermost of nested spans (a ``def`` inside a nested ``def`` is inside it)."""

    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            continue
        out.append((start, end))
    return out


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _plain(kind: str) -> str:
    return "variable" if kind == "declaration" else kind


def _is_builtin(found: Found) -> bool:
    loc = found.locations[0]
    return loc.external and loc.module == "builtins"
