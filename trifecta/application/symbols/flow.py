"""Which bindings of one name can reach a line (pure, text only, tolerant).

A scope's body (a function's, or a module's) is read as statements by indentation: a line
that starts a statement and is indented deeper than the statement before it belongs to that
statement's block. The bindings of one name are given by line (found by the caller); this
module runs the blocks the way Python can run them and collects the bindings that may be
live at the use:

- ``if``/``elif``/``else`` and ``match``/``case``: any arm, or none when there is no
  ``else`` (``case _``);
- ``for``/``while`` (and their ``else``): the body zero or more times, so a binding lower in
  the body reaches a use higher up through the next iteration; ``break``/``continue`` carry
  their state to the exit/the next iteration; ``while True`` leaves only through ``break``;
- ``try``: a handler may start at any point of the body (any state seen there), ``else``
  after the whole body, ``finally`` after any of them;
- ``with``: its block, in order; ``return``/``raise`` end a path; ``del x`` unbinds ``x``;
- a one-line compound statement (``if c: x = 1``) is a block of one statement.

Nothing here fails on bad input: unbalanced or oddly indented text gives some answer, never
an error. ``ENTRY`` (0) stands for the state at the start of the scope (a parameter, or the
name not bound yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ENTRY = 0
KILL = "kill"  # a ``del`` of the name

_KEYWORD = re.compile(
    r"^\s*(async\s+(?=for\b|with\b))?"
    r"(if|elif|else|for|while|try|except|finally|with|return|raise|break|continue|match|case)"
    r"(?!\w)"
)
_SOFT = ("match", "case")
_HEADERS = ("if", "elif", "else", "for", "while", "try", "except", "finally", "with")
# the header itself binds: ``for x in``, ``with ... as x``, ``except E as x``, a walrus in
# a ``while`` condition
_HEADER_BINDS = ("for", "with", "except", "while")
_FOREVER = re.compile(r"^\s*while\s+(?:True|1)\s*:")

State = frozenset[int] | None  # None: no path gets here


@dataclass
class Stmt:
    line: int  # first line
    end: int  # last line of the statement itself (its header, for a compound one)
    indent: int
    kw: str  # a keyword above, "def" for a nested definition, "" for a simple statement
    inline: bool = False  # a compound statement with its body on the same line
    children: list[Stmt] = field(default_factory=list)


def statements(
    lines: Sequence[str],
    starts: Sequence[bool],
    first: int,
    last: int,
    spans: Iterable[tuple[int, int]] = (),
) -> list[Stmt]:
    """The statements of lines ``first``..``last`` (1-based) as a tree; each span (a nested
    ``def``/``class`` with its decorators) is one statement."""

    spans = sorted(spans)
    flat: list[Stmt] = []
    number = first
    span_index = 0
    while number <= min(last, len(lines)):
        while span_index < len(spans) and spans[span_index][1] < number:
            span_index += 1
        if span_index < len(spans) and spans[span_index][0] <= number:
            end = spans[span_index][1]
            flat.append(Stmt(number, end, _indent(lines[number - 1]), "def"))
            number = end + 1
            continue
        text = lines[number - 1]
        code = text.split("#", 1)[0]
        if starts[number - 1] and code.strip():
            flat.append(_statement(number, text))
        elif flat:
            flat[-1].end = number if code.strip() else flat[-1].end
        number += 1
    root = Stmt(0, 0, -1, "")
    stack = [root]
    for stmt in flat:
        while len(stack) > 1 and stack[-1].indent >= stmt.indent:
            stack.pop()
        stack[-1].children.append(stmt)
        stack.append(stmt)
    for stmt in flat:  # a header's own lines end where its block begins
        if stmt.children:
            stmt.end = min(stmt.end, stmt.children[0].line - 1)
    return root.children


def _statement(number: int, text: str) -> Stmt:
    m = _KEYWORD.match(text)
    kw = m.group(2) if m else ""
    if kw in _SOFT and (
        not text.split("#", 1)[0].rstrip().endswith(":") or re.match(r"\s*\w+\s*[=.(\[,]", text)
    ):
        kw = ""  # ``match = ...``, ``case(x)``: soft keywords used as names
    inline = False
    if kw in _HEADERS or kw in _SOFT:
        inline = not text.split("#", 1)[0].rstrip().endswith(":")
    return Stmt(number, number, _indent(text), kw, inline)


def reaching(
    body: Sequence[Stmt],
    binds: dict[int, str],
    use: int | None,
    lines: Sequence[str] = (),
) -> frozenset[int]:
    """The binding lines (``ENTRY`` for the scope's start) that may be live at line ``use``
    (``None``: at the end of the scope). ``binds`` maps a statement's line to ``"bind"`` or
    ``KILL``; a binding on a continuation line counts for its statement."""

    run = _Run(binds, use, lines)
    end = run.block(body, frozenset({ENTRY}))
    if use is None:
        return end or frozenset()
    return run.seen


class _Run:
    def __init__(self, binds: dict[int, str], use: int | None, lines: Sequence[str]) -> None:
        self.binds = binds
        self.use = use
        self.lines = lines
        self.seen: frozenset[int] = frozenset()
        self.loops: list[tuple[list[State], list[State]]] = []  # (breaks, continues)
        self.tries: list[list[State]] = []  # states a handler may start from

    # what a statement's own lines do to the state
    def _effect(self, stmt: Stmt, state: State) -> State:
        if state is None:
            return None
        for number in range(stmt.line, stmt.end + 1):
            what = self.binds.get(number)
            if what == KILL:
                return frozenset()
            if what is not None:
                return frozenset({number})
        return state

    def _visit(self, stmt: Stmt, state: State) -> None:
        if self.use is not None and stmt.line <= self.use <= stmt.end and state is not None:
            self.seen = self.seen | state
        for collected in self.tries:
            collected.append(state)

    def block(self, stmts: Sequence[Stmt], state: State) -> State:
        i = 0
        while i < len(stmts):
            stmt = stmts[i]
            kw = stmt.kw
            if kw == "if" or kw == "match":
                j = i + 1
                arms = [stmt] if kw == "if" else list(stmt.children)
                if kw == "if":
                    while j < len(stmts) and stmts[j].kw in ("elif", "else"):
                        arms.append(stmts[j])
                        j += 1
                else:
                    self._visit(stmt, state)
                    state = self._effect(stmt, state)
                state = self._arms(arms, state, exhaustive=kw)
                i = j
                continue
            if kw in ("for", "while"):
                j = i + 1
                orelse = None
                if j < len(stmts) and stmts[j].kw == "else":
                    orelse = stmts[j]
                    j += 1
                state = self._loop(stmt, orelse, state)
                i = j
                continue
            if kw == "try":
                j = i + 1
                handlers, orelse, final = [], None, None
                while j < len(stmts) and stmts[j].kw in ("except", "else", "finally"):
                    if stmts[j].kw == "except":
                        handlers.append(stmts[j])
                    elif stmts[j].kw == "else":
                        orelse = stmts[j]
                    else:
                        final = stmts[j]
                    j += 1
                state = self._try(stmt, handlers, orelse, final, state)
                i = j
                continue
            state = self._simple_or_block(stmt, state)
            i += 1
        return state

    def _simple_or_block(self, stmt: Stmt, state: State) -> State:
        self._visit(stmt, state)
        kw = stmt.kw
        if kw == "with":
            return self._body(stmt, state)
        if kw in _HEADERS or kw in _SOFT:  # an orphan elif/else/except...: maybe run
            body = self._body(stmt, state)
            return _union(state, body)
        if kw == "" or kw == "def":
            return self._effect(stmt, state)
        if kw == "break" and self.loops:
            self.loops[-1][0].append(state)
        elif kw == "continue" and self.loops:
            self.loops[-1][1].append(state)
        return None  # return, raise, break, continue

    def _body(self, stmt: Stmt, state: State) -> State:
        """The block of a compound statement (its header's binding applied for for/with/
        except; an inline body's binding applied after the header)."""

        if stmt.inline:
            inner = Stmt(stmt.line, stmt.end, stmt.indent + 1, _inline_kw(stmt, self.lines))
            if stmt.kw in _HEADER_BINDS:
                state = self._effect(stmt, state)
                return self._simple_or_block(replace_kw(inner, ""), state)
            return self._simple_or_block(inner, state)
        if stmt.kw in _HEADER_BINDS:
            state = self._effect(stmt, state)
        return self.block(stmt.children, state)

    def _arms(self, arms: Sequence[Stmt], state: State, exhaustive: str) -> State:
        outs: list[State] = []
        covered = False
        for arm in arms:
            self._visit(arm, state)
            if arm.kw == "case" and not arm.inline:
                header = " ".join(self.lines[arm.line - 1 : arm.end]) if self.lines else ""
                covered = covered or re.match(r"^\s*case\s+_\s*:", header) is not None
            elif arm.kw == "else":
                covered = True
            if arm.kw in ("if", "elif", "case") and not arm.inline:
                state = self._effect(arm, state)  # a walrus in the condition
            outs.append(self._body(arm, state))
        if not covered:
            outs.append(state)
        return _union(*outs)

    def _loop(self, stmt: Stmt, orelse: Stmt | None, state: State) -> State:
        self.loops.append(([], []))
        head = state
        for _ in range(3):  # enough for a binding low in the body to reach the top
            self._visit(stmt, head)
            out = self._body(stmt, head)
            breaks, continues = self.loops[-1]
            new_head = _union(state, out, *continues)
            if new_head == head:
                break
            head = new_head
        breaks, _ = self.loops.pop()
        forever = stmt.kw == "while" and self.lines and _FOREVER.match(self.lines[stmt.line - 1])
        exit_state = None if forever else head
        if stmt.kw == "while":  # the condition runs once more before the loop ends
            exit_state = self._effect(stmt, exit_state)
        if orelse is not None:
            self._visit(orelse, exit_state)
            exit_state = self._body(orelse, exit_state)
        return _union(exit_state, *breaks)

    def _try(
        self,
        stmt: Stmt,
        handlers: Sequence[Stmt],
        orelse: Stmt | None,
        final: Stmt | None,
        state: State,
    ) -> State:
        self._visit(stmt, state)
        collected: list[State] = [state]
        self.tries.append(collected)
        out = self._body(stmt, state)
        self.tries.pop()  # (the outer ones saw the same states: an exception may pass)
        raised = _union(*collected, out)
        if orelse is not None:
            self._visit(orelse, out)
            out = self._body(orelse, out)
        outs = [out]
        for handler in handlers:
            self._visit(handler, raised)
            outs.append(self._body(handler, raised))
        after = _union(*outs)
        if final is not None:
            self._visit(final, _union(after, raised))
            finished = self._body(final, _union(after, raised))
            return finished if after is not None else None
        return after


def replace_kw(stmt: Stmt, kw: str) -> Stmt:
    return Stmt(stmt.line, stmt.end, stmt.indent, kw, False, [])


def _inline_kw(stmt: Stmt, lines: Sequence[str]) -> str:
    """The keyword of a one-line compound statement's body (``if c: return`` -> return)."""

    if not lines or not 1 <= stmt.line <= len(lines):
        return ""
    text = lines[stmt.line - 1].split("#", 1)[0]
    m = re.search(r":\s*(return|raise|break|continue)\b", text)
    return m.group(1) if m else ""


def _union(*states: State) -> State:
    live = [s for s in states if s is not None]
    if not live:
        return None
    out: frozenset[int] = frozenset()
    for s in live:
        out = out | s
    return out


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())
