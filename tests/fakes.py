"""Working in-memory fakes of every port. Assert on their state, not on calls."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from trifecta.domain.errors import (
    BinaryFile,
    FileMissing,
    FileTooLarge,
    LanguageServerCold,
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerTimeout,
    LanguageServerUnavailable,
    ParseFailed,
    PathOutsideSegment,
)
from trifecta.domain.model import (
    FileEntry,
    FileText,
    LspFacts,
    ReadMode,
    RepoState,
    Resolution,
    Selector,
    Skeleton,
    SkeletonEntry,
    SkippedFile,
    SymbolLocation,
)
from trifecta.domain.ports import (
    Clock,
    FileReader,
    LanguageServer,
    NameIndexStore,
    NameRow,
    RepoStateReader,
    SkeletonCache,
    SkeletonParser,
    Stamp,
    SymbolResolver,
    TelemetrySink,
)
from trifecta.domain.skeleton_codec import decode_skeleton, encode_skeleton


class FakeClock(Clock):
    """A clock that moves only when told (``advance``) or by ``step_ns`` per reading."""

    def __init__(self, start_ns: int = 1_000_000_000, step_ns: int = 0) -> None:
        self.now_ns = start_ns
        self.step_ns = step_ns

    def advance(self, ms: float) -> None:
        self.now_ns += int(ms * 1_000_000)

    def monotonic_ns(self) -> int:
        value = self.now_ns
        self.now_ns += self.step_ns
        return value

    def utc_iso(self) -> str:
        return "2026-01-01T00:00:00+00:00"

    def epoch_s(self) -> float:
        return 1_767_225_600.0 + self.now_ns / 1e9


class FakeFileReader(FileReader):
    """A segment held in a dict of path -> bytes. Paths starting with ``../`` or ``/`` are
    outside; ``symlinks`` maps a path to its (possibly outside) target."""

    def __init__(
        self,
        files: Mapping[str, bytes | str] | None = None,
        max_bytes: int = 2 * 1024 * 1024,
        symlinks: Mapping[str, str] | None = None,
    ) -> None:
        self.files: dict[str, bytes] = {
            p: (c.encode("utf-8") if isinstance(c, str) else c) for p, c in (files or {}).items()
        }
        self.mtimes: dict[str, int] = {p: 1 for p in self.files}
        self.symlinks = dict(symlinks or {})
        self.max_bytes = max_bytes
        self.counts: dict[ReadMode, int] = {m: 0 for m in ReadMode}

    def write(self, path: str, content: bytes | str) -> None:
        self.files[path] = content.encode("utf-8") if isinstance(content, str) else content
        self.mtimes[path] = self.mtimes.get(path, 0) + 1

    def _target(self, path: str) -> str:
        target = self.symlinks.get(path, path)
        if target.startswith(("/", "../")) or "/../" in target:
            raise PathOutsideSegment(f"{path}: path leaves the segment")
        return target

    def relative(self, user_path: str) -> str:
        path = user_path.removeprefix("./")
        self._target(path)
        return path

    def read_text(self, path: str, mode: ReadMode = ReadMode.RAW) -> FileText:
        target = self._target(path)
        if target not in self.files:
            raise FileMissing(f"{path}: no such file")
        data = self.files[target]
        if len(data) > self.max_bytes:
            raise FileTooLarge(
                f"{path}: {len(data)} bytes is over the {self.max_bytes}-byte size cap"
            )
        if b"\x00" in data[:8192]:
            raise BinaryFile(f"{path}: binary file refused")
        self.counts[mode] += len(data)
        try:
            text, lossy = data.decode("utf-8"), False
        except UnicodeDecodeError:
            text, lossy = data.decode("utf-8", errors="replace"), True
        return FileText(path, text, len(data), hashlib.sha256(data).hexdigest(), lossy)

    def stat(self, path: str) -> FileEntry | None:
        try:
            target = self._target(path)
        except PathOutsideSegment:
            return None
        if target not in self.files:
            return None
        return FileEntry(path, len(self.files[target]), self.mtimes.get(target, 1))

    def list_files(
        self, include: Sequence[str], exclude: Sequence[str] = ()
    ) -> tuple[list[FileEntry], list[SkippedFile]]:
        def matches(pattern: str, path: str) -> bool:
            rx = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
            return re.fullmatch(rx, path) is not None

        entries: list[FileEntry] = []
        skipped: list[SkippedFile] = []
        for path in sorted(set(self.files) | set(self.symlinks)):
            if not any(matches(p, path) for p in include) or any(matches(p, path) for p in exclude):
                continue
            entry = self.stat(path)
            if entry is None:
                skipped.append(SkippedFile(path, "symlink leaves the segment"))
            elif entry.size > self.max_bytes:
                skipped.append(SkippedFile(path, "over the size cap"))
            else:
                entries.append(entry)
        return entries, skipped

    def bytes_read(self) -> Mapping[ReadMode, int]:
        return dict(self.counts)


class FakeSkeletonParser(SkeletonParser):
    """Parses a toy format: each line ``def NAME`` or ``class NAME`` (indent = nesting).
    A line ``!error`` makes it fail (``strict``) or return a partial skeleton."""

    def __init__(self, name: str = "ast", strict: bool = True, version: str = "1") -> None:
        self._name = name
        self._version = version
        self.strict = strict
        self.parsed: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self._version

    def parse(self, source: str, path: str) -> Skeleton:
        self.parsed.append(path)
        entries: list[SkeletonEntry] = []
        stack: list[tuple[int, str]] = []
        partial = False
        for number, line in enumerate(source.splitlines(), start=1):
            stripped = line.strip()
            if stripped == "!error":
                if self.strict:
                    raise ParseFailed(f"{path}:{number}: invalid syntax")
                partial = True
                continue
            indent = len(line) - len(line.lstrip())
            for word in ("def", "class"):
                if stripped.startswith(word + " "):
                    name = stripped[len(word) + 1 :].split("(")[0].rstrip(":")
                    while stack and stack[-1][0] >= indent:
                        stack.pop()
                    qual = ".".join([s[1] for s in stack] + [name])
                    kind = "class" if word == "class" else ("method" if stack else "function")
                    entries.append(
                        SkeletonEntry(
                            kind,
                            name,
                            qual,
                            stripped.rstrip(":"),
                            number,
                            number,
                            None,
                            (),
                            len(stack),
                        )
                    )
                    stack.append((indent, name))
        return Skeleton(path, self._name, partial, None, tuple(entries), len(source.encode()))


class FakeLanguageServer(LanguageServer):
    """A language server answering from a table: (path, line, column) -> locations.

    ``behaviour`` scripts failure modes: "ok", "unavailable", "cold", "crashed", "timeout",
    "error", "empty", "not_ready". ``requests`` counts requests served (state, for
    assertions).
    """

    def __init__(
        self,
        definitions: Mapping[tuple[str, int, int], list[SymbolLocation]] | None = None,
        symbols: Mapping[str, list[SymbolLocation]] | None = None,
        behaviour: str = "ok",
    ) -> None:
        self.definitions = dict(definitions or {})
        self.symbols = dict(symbols or {})
        self.behaviour = behaviour
        self.started = False
        self.stopped = False
        self.requests = 0
        self._facts = LspFacts()
        self._listener: Callable[[str, Mapping[str, Any]], None] | None = None

    def start(self, listener: Callable[[str, Mapping[str, Any]], None] | None = None) -> None:
        if self.behaviour == "unavailable":
            raise LanguageServerUnavailable("pyright-langserver not found")
        if self.behaviour == "cold":
            raise LanguageServerCold("no warm server yet")
        if self.started and not self.stopped:
            return  # like the real adapter: a live session is reused, facts reported once
        self._listener = listener
        self.started = True
        self.stopped = False  # a new session after a shutdown, like the real adapter
        ready = self.behaviour != "not_ready"
        self._facts = LspFacts(
            spawned=True,
            initialized=True,
            ready_via="diagnostics" if ready else None,
            ready_ms=5 if ready else None,
            scan_done=ready,
        )
        if listener is not None:
            listener("lsp.spawn", {"pyright_binary": "fake"})
            listener("lsp.initialize", {"workspace_initialized": True})
            if ready:
                listener("lsp.ready", {"ready_via": "diagnostics", "cumulative_ms": 5})

    def facts(self) -> LspFacts:
        return self._facts

    def wait_ready(self, timeout_ms: int) -> bool:
        return self._facts.ready_via is not None

    def _serve(self) -> None:
        if not self.started or self.stopped:
            raise LanguageServerUnavailable("language server is not running")
        self.requests += 1
        if self.behaviour == "timeout":
            raise LanguageServerTimeout("request passed its deadline")
        if self.behaviour == "error":
            raise LanguageServerError("internal error")
        if self.behaviour == "crashed":
            raise LanguageServerCrashed("the language server process died")

    def definition(
        self, path: str, line: int, column: int, timeout_ms: int
    ) -> list[SymbolLocation]:
        self._serve()
        if self.behaviour in ("empty", "not_ready"):
            return []
        return list(self.definitions.get((path, line, column), []))

    def document_symbols(self, path: str, timeout_ms: int) -> list[SymbolLocation]:
        self._serve()
        if self.behaviour in ("empty", "not_ready"):
            return []
        return list(self.symbols.get(path, []))

    def workspace_symbols(self, query: str, timeout_ms: int) -> list[SymbolLocation]:
        self._serve()
        if self.behaviour in ("empty", "not_ready"):
            return []
        return [
            s for locs in self.symbols.values() for s in locs if s.qualname and query in s.qualname
        ]

    def shutdown(self) -> None:
        self.stopped = True


class FakeSymbolResolver(SymbolResolver):
    """Resolves from a table of qualified names ``module:Qual.Name`` -> locations."""

    def __init__(
        self, table: Mapping[str, list[SymbolLocation]] | None = None, by: str = "tree_sitter"
    ) -> None:
        self.table = dict(table or {})
        self.by = by

    def resolve_selector(self, selector: Selector, timeout_ms: int) -> Resolution:
        key = f"{selector.module}:{selector.member}" if selector.member else selector.module
        matches = tuple(self.table.get(key, []))
        return Resolution(str(selector), matches, self.by, None, len(matches) > 1)

    def resolve_position(self, path: str, line: int, column: int, timeout_ms: int) -> Resolution:
        matches = tuple(self.table.get(f"{path}:{line}:{column}", []))
        return Resolution(f"{path}:{line}:{column}", matches, self.by, None, len(matches) > 1)


class FakeTelemetrySink(TelemetrySink):
    """Telemetry kept in lists and dicts. ``fail_writes`` makes appends spool instead."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}
        self.last_run: dict[str, Any] | None = None
        self.spool: list[dict[str, Any]] = []
        self.fail_writes = False
        self.written = 0

    def append_events(self, records: Sequence[Mapping[str, Any]]) -> None:
        if self.fail_writes:
            self.spool.extend(dict(r) for r in records)
            return
        pending, self.spool = self.spool, []
        for record in [*pending, *(dict(r) for r in records)]:
            self.events.append(record)
            self.written += 1

    def merge_counters(self, deltas: Mapping[str, int]) -> dict[str, int]:
        for key, value in deltas.items():
            self.counters[key] = self.counters.get(key, 0) + value
        return dict(self.counters)

    def read_counters(self) -> dict[str, int]:
        return dict(self.counters)

    def write_last_run(self, summary: Mapping[str, Any]) -> None:
        self.last_run = dict(summary)

    def read_last_run(self) -> dict[str, Any] | None:
        return None if self.last_run is None else dict(self.last_run)

    def read_events(self) -> Iterator[dict[str, Any]]:
        return iter([dict(e) for e in [*self.events, *self.spool]])

    def health(self) -> Mapping[str, int | float]:
        return {
            "events_written": self.written,
            "events_spooled": len(self.spool),
            "max_lock_wait_ms": 0,
        }


# ---- symbols -------------------------------------------------------------------------------


def ast_skeleton(source: str, path: str) -> Skeleton:
    """A small but real skeleton (classes, functions, methods, module constants with their
    true line ranges) built with the stdlib ``ast``: a stand-in for the skeleton use case."""

    import ast

    tree = ast.parse(source)
    entries: list[SkeletonEntry] = []

    def visit(body: list[ast.stmt], prefix: str, in_class: bool, depth: int) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                qual = f"{prefix}{node.name}"
                is_class = isinstance(node, ast.ClassDef)
                kind = "class" if is_class else ("method" if in_class else "function")
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                entries.append(
                    SkeletonEntry(
                        kind,
                        node.name,
                        qual,
                        f"{'class' if is_class else 'def'} {node.name}",
                        start,
                        node.end_lineno or node.lineno,
                        None,
                        (),
                        depth,
                    )
                )
                visit(node.body, qual + ".", is_class, depth + 1)
            elif isinstance(node, ast.Assign) and not prefix:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        entries.append(
                            SkeletonEntry(
                                "constant",
                                target.id,
                                target.id,
                                f"{target.id} = ...",
                                node.lineno,
                                node.end_lineno or node.lineno,
                            )
                        )

    visit(tree.body, "", False, 0)
    return Skeleton(path, "ast", False, None, tuple(entries), len(source.encode()))


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


def skeletons_of(reader: FileReader) -> Callable[[str], Skeleton]:
    """``segment-relative path -> Skeleton`` over a (fake) reader, as the index expects."""

    def skeleton_of(path: str) -> Skeleton:
        try:
            return ast_skeleton(reader.read_text(path).text, path)
        except SyntaxError as e:
            raise ParseFailed(f"{path}: {e.msg}") from e

    return skeleton_of


# ---- skeletons -----------------------------------------------------------------------------


class FakeSkeletonCache(SkeletonCache):
    """A skeleton cache in a dict, with the real one's size rules: values are measured by
    their encoded size, larger than ``max_entry_bytes`` are not stored, and the total stays
    under ``max_bytes`` by evicting the least recently used first."""

    def __init__(self, max_bytes: int = 1 << 20, max_entry_bytes: int = 1 << 16) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self.values: dict[tuple[str, str, str], bytes] = {}  # insertion order = recency

    def get(self, sha256: str, parser: str, version: str) -> Skeleton | None:
        key = (sha256, parser, version)
        data = self.values.pop(key, None)
        if data is None:
            return None
        self.values[key] = data  # most recently used last
        return decode_skeleton(data)

    def put(self, sha256: str, parser: str, version: str, skeleton: Skeleton) -> bool:
        data = encode_skeleton(skeleton)
        if len(data) > self.max_entry_bytes:
            return False
        key = (sha256, parser, version)
        self.values.pop(key, None)
        self.values[key] = data
        while sum(len(v) for v in self.values.values()) > self.max_bytes:
            del self.values[next(iter(self.values))]
        return True

    def stats(self) -> Mapping[str, int]:
        return {"entries": len(self.values), "bytes": sum(len(v) for v in self.values.values())}


# ---- telemetry helper: repository state ------------------------------------------------------


class FakeRepoStateReader(RepoStateReader):
    """A fixed repository state; ``reads`` counts how often it was asked (state)."""

    def __init__(self, sha: str | None = "0123456789ab", dirty: bool | None = False) -> None:
        self.state = RepoState(sha, dirty)
        self.reads = 0

    def read(self) -> RepoState:
        self.reads += 1
        return self.state
