"""Working in-memory fakes of every port. Assert on their state, not on calls."""

from __future__ import annotations

import hashlib
import posixpath
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
        cwd: str = "",
        dirs: Sequence[str] = (),
    ) -> None:
        self.cwd = cwd  # the current directory, segment-relative
        self.dirs = set(dirs)  # directories holding no file (others follow from files)
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
        if user_path.startswith("/"):
            raise PathOutsideSegment(f"{user_path}: path is outside the segment")
        from_cwd = user_path in (".", "..") or user_path.startswith(("./", "../"))
        exists = user_path in self.files or user_path in self.symlinks or self.is_dir(user_path)
        joined = user_path if not from_cwd and exists else posixpath.join(self.cwd, user_path)
        path = posixpath.normpath(joined)
        if path == ".." or path.startswith("../"):
            raise PathOutsideSegment(f"{user_path}: path is outside the segment")
        path = "" if path == "." else path
        self._target(path)
        return path

    def is_dir(self, path: str) -> bool:
        try:
            target = self._target(path)
        except PathOutsideSegment:
            return False
        if target in ("", ".") or target in self.dirs:
            return True
        prefix = target.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in (*self.files, *self.dirs))

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
    """Reads ``def``/``class`` lines by indentation (a Python subset, or the toy form
    ``def NAME``). A def/class line with unbalanced parentheses, or a line ``!error``, is a
    syntax error: ``strict`` raises ``ParseFailed``, otherwise the rest is returned with
    ``partial=True``. Bodies run until the next line indented as much or less."""

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

    @staticmethod
    def _end_line(lines: list[str], index: int, indent: int) -> int:
        end = index
        for later in range(index + 1, len(lines)):
            text = lines[later]
            if not text.strip():
                continue
            if len(text) - len(text.lstrip()) <= indent:
                break
            end = later
        return end + 1

    def parse(self, source: str, path: str) -> Skeleton:
        self.parsed.append(path)
        lines = source.splitlines()
        entries: list[SkeletonEntry] = []
        stack: list[tuple[int, str, str]] = []  # (indent, name, kind)
        partial = False
        for index, line in enumerate(lines):
            stripped = line.strip()
            broken = stripped == "!error" or (
                stripped.startswith(("def ", "class ", "async def "))
                and stripped.count("(") != stripped.count(")")
            )
            if broken:
                if self.strict:
                    raise ParseFailed(f"{path}:{index + 1}: invalid syntax")
                partial = True
                continue
            indent = len(line) - len(line.lstrip())
            word = next(
                (w for w in ("async def", "def", "class") if stripped.startswith(w + " ")), None
            )
            if word is None:
                continue
            name = stripped[len(word) + 1 :].split("(")[0].split(":")[0].strip()
            while stack and stack[-1][0] >= indent:
                stack.pop()
            qual = ".".join([s[1] for s in stack] + [name])
            if word == "class":
                kind = "class"
            else:
                kind = "method" if stack and stack[-1][2] == "class" else "function"
            signature = stripped.rstrip(":") if stripped.endswith(":") else stripped
            entries.append(
                SkeletonEntry(
                    kind,
                    name,
                    qual,
                    signature,
                    index + 1,
                    self._end_line(lines, index, indent),
                    None,
                    (),
                    len(stack),
                )
            )
            stack.append((indent, name, kind))
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
        needs_ms: int = 0,
    ) -> None:
        self.definitions = dict(definitions or {})
        self.needs_ms = needs_ms  # a request with a shorter deadline times out
        self.deadlines: list[int] = []
        self.dead = False  # set by a test: the "process" died (crashed() until restarted)
        self.spawns = 0
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
        if self.started and not self.stopped and not self.dead:
            return  # like the real adapter: a live session is reused, facts reported once
        self._listener = listener
        self.started = True
        self.dead = False
        self.spawns += 1
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

    def crashed(self) -> bool:
        return self.started and not self.stopped and self.dead

    def wait_ready(self, timeout_ms: int) -> bool:
        return self._facts.ready_via is not None

    def _serve(self, timeout_ms: int = 0) -> None:
        if not self.started or self.stopped:
            raise LanguageServerUnavailable("language server is not running")
        if self.dead:
            raise LanguageServerCrashed("the language server process died")
        self.requests += 1
        self.deadlines.append(timeout_ms)
        if self.behaviour == "timeout" or timeout_ms < self.needs_ms:
            raise LanguageServerTimeout("request passed its deadline")
        if self.behaviour == "error":
            raise LanguageServerError("internal error")
        if self.behaviour == "crashed":
            raise LanguageServerCrashed("the language server process died")

    def definition(
        self, path: str, line: int, column: int, timeout_ms: int
    ) -> list[SymbolLocation]:
        self._serve(timeout_ms)
        if self.behaviour in ("empty", "not_ready"):
            return []
        return list(self.definitions.get((path, line, column), []))

    def document_symbols(self, path: str, timeout_ms: int) -> list[SymbolLocation]:
        self._serve(timeout_ms)
        if self.behaviour in ("empty", "not_ready"):
            return []
        return list(self.symbols.get(path, []))

    def workspace_symbols(self, query: str, timeout_ms: int) -> list[SymbolLocation]:
        self._serve(timeout_ms)
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


# ---- context packs (packs issue) -----------------------------------------------------------

import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402

from trifecta.domain.errors import LockTimeout, PackCorrupt, PackMissing  # noqa: E402
from trifecta.domain.packs import (  # noqa: E402
    Candidate,
    IndexDoc,
    IndexHit,
    IndexInfo,
    Pack,
    PackChunk,
    PackState,
    Ranking,
    pack_from_dict,
    pack_to_dict,
)
from trifecta.domain.ports import BeforeCommit, PackStore, SearchIndex  # noqa: E402


class FakePackStore(PackStore):
    """The pack kept as its JSON bytes in memory; ``corrupt()`` garbles them; ``held``
    simulates another process holding the build lock."""

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.saves = 0
        self.held = False
        self._mtime = 0

    def load(self) -> Pack:
        return self.load_with_sha()[0]

    def load_with_sha(self) -> tuple[Pack, str]:
        if self.data is None:
            raise PackMissing("no context pack, run ctx build")
        try:
            parsed = json.loads(self.data)
        except ValueError as e:
            raise PackCorrupt("pack is corrupt, run ctx build") from e
        return pack_from_dict(parsed), hashlib.sha256(self.data).hexdigest()

    def save(self, pack: Pack, before_commit: BeforeCommit | None = None) -> str:
        data = json.dumps(pack_to_dict(pack)).encode()
        sha = hashlib.sha256(data).hexdigest()
        if before_commit is not None:
            before_commit(sha, (len(data), self._mtime + 1))
        self.data = data
        self.saves += 1
        self._mtime += 1
        return sha

    def stamp(self) -> tuple[int, int] | None:
        return None if self.data is None else (len(self.data), self._mtime)

    def corrupt(self) -> None:
        self.data = b'{"schema_version": 1, "chunks": [trunc'
        self._mtime += 1

    @contextlib.contextmanager
    def lock(self, timeout_ms: int) -> Iterator[None]:
        if self.held:
            raise LockTimeout(f"another build holds the pack lock (waited {timeout_ms} ms)")
        self.held = True
        try:
            yield
        finally:
            self.held = False


FAKE_WEIGHTS = (3.0, 2.0, 1.0)


class FakeSearchIndex(SearchIndex):
    """An in-memory BM25 index over the same three fields and weights as the real one
    (without stemming), with the ranking's definition and role factors."""

    def __init__(self) -> None:
        self.docs: dict[str, IndexDoc] = {}
        self._state = PackState(())
        self._info: IndexInfo | None = None
        self.replaced = 0
        self.updated = 0

    def replace(self, info: IndexInfo, docs: Sequence[IndexDoc], state: PackState) -> None:
        self.docs = {d.chunk.id: d for d in docs}
        self._state, self._info = state, info
        self.replaced += 1

    def update(
        self,
        info: IndexInfo,
        remove_paths: Sequence[str],
        docs: Sequence[IndexDoc],
        state: PackState,
    ) -> None:
        self._need()
        gone = set(remove_paths)
        self.docs = {i: d for i, d in self.docs.items() if d.chunk.path not in gone}
        self.docs.update({d.chunk.id: d for d in docs})
        self._state, self._info = state, info
        self.updated += 1

    def _need(self) -> IndexInfo:
        if self._info is None:
            raise PackMissing("no search index, run ctx build")
        return self._info

    @staticmethod
    def _fields(doc: IndexDoc) -> list[list[str]]:
        return [f.split() for f in (doc.title_terms, doc.symbol_terms, doc.body_terms)]

    def _matching(self, terms: Sequence[str]) -> list[IndexDoc]:
        wanted = set(terms)
        return [d for d in self.docs.values() if any(wanted & set(f) for f in self._fields(d))]

    def path_scores(self, terms: Sequence[str], ranking: Ranking | None = None) -> dict[str, float]:
        self._need()
        demote = (ranking or Ranking()).demote
        out: dict[str, float] = {}
        for doc in self.docs.values():
            words = doc.path_terms.split()
            hits = sum(1 for t in terms if t in words)
            if hits:
                out[doc.chunk.path] = hits * (demote if doc.demoted else 1.0)
        return out

    def hits(self, scored: Sequence[tuple[str, float]]) -> list[IndexHit]:
        self._need()
        return [
            IndexHit(self.docs[i].chunk, score, self.docs[i].preview)
            for i, score in scored
            if i in self.docs
        ]

    def search(
        self, terms: Sequence[str], limit: int, ranking: Ranking | None = None
    ) -> list[Candidate]:
        self._need()
        ranking = ranking or Ranking()
        n = len(self.docs) or 1
        lengths = {i: sum(len(f) for f in self._fields(d)) for i, d in self.docs.items()}
        avg = sum(lengths.values()) / n or 1.0
        scored = []
        for doc in self._matching(terms):
            fields = self._fields(doc)
            score = 0.0
            for term in terms:
                df = sum(1 for d in self.docs.values() if any(term in f for f in self._fields(d)))
                if not df:
                    continue
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                tf = sum(w * f.count(term) for w, f in zip(FAKE_WEIGHTS, fields, strict=True))
                norm = 1.2 * (0.25 + 0.75 * lengths[doc.chunk.id] / avg)
                score += idf * tf * 2.2 / (tf + norm)
            if doc.demoted:
                score *= ranking.demote
            if doc.name and doc.name in ranking.names:
                score *= ranking.defines
            if doc.chunk.kind in ("section", "document"):
                score *= ranking.prose
            scored.append(Candidate(doc.chunk.id, doc.chunk.path, round(score, 4)))
        scored.sort(key=lambda c: (-c.score, c.id))
        return scored[:limit]

    def count_matches(self, terms: Sequence[str]) -> int:
        self._need()
        return len(self._matching(terms))

    def chunks(self, ids: Sequence[str]) -> list[PackChunk]:
        self._need()
        return [self.docs[i].chunk for i in ids if i in self.docs]

    def chunk_ids(self) -> list[str]:
        self._need()
        return list(self.docs)

    def state(self) -> PackState:
        self._need()
        return self._state

    def info(self) -> IndexInfo:
        return self._need()

    def size_bytes(self) -> int:
        return sum(len(d.body_terms) for d in self.docs.values())


class FakeBlockSkeletonParser(FakeSkeletonParser):
    """``FakeSkeletonParser`` whose entries end where their indented block ends (the last
    line before the next line indented at or left of the definition), as real parsers do."""

    def parse(self, source: str, path: str) -> Skeleton:
        skeleton = super().parse(source, path)
        lines = source.splitlines()

        def end_of(start: int) -> int:
            column = len(lines[start - 1]) - len(lines[start - 1].lstrip())
            end = start
            for number in range(start + 1, len(lines) + 1):
                line = lines[number - 1]
                if line.strip() and len(line) - len(line.lstrip()) <= column:
                    break
                if line.strip():
                    end = number
            return end

        entries = tuple(
            SkeletonEntry(
                e.kind,
                e.name,
                e.qualname,
                e.signature,
                e.line_start,
                end_of(e.line_start),
                e.doc,
                e.decorators,
                e.depth,
            )
            for e in skeleton.entries
        )
        return Skeleton(
            skeleton.path,
            skeleton.parser,
            skeleton.partial,
            skeleton.module_doc,
            entries,
            skeleton.source_bytes,
        )


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
