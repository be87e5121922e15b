"""The pack store and search index in memory."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Collection, Iterator, Sequence

from trifecta.domain.errors import (
    LockTimeout,
    PackCorrupt,
    PackMissing,
)
from trifecta.domain.packs import (
    LENGTH_FLOOR,
    LENGTH_PIVOT,
    Candidate,
    ChunkPart,
    IndexDoc,
    IndexHit,
    IndexInfo,
    KeptChunks,
    LoadedPack,
    Pack,
    PackChunk,
    PackState,
    Ranking,
    pack_from_dict,
    pack_to_dict,
    patched_chunks,
)
from trifecta.domain.ports import (
    BeforeCommit,
    IndexWriter,
    PackStore,
    PackWriter,
    SearchIndex,
    StoredPack,
)
from trifecta.domain.records import replace


class FakePackStore(PackStore):
    """The pack kept as its JSON bytes in memory; ``corrupt()`` garbles them; ``held``
    simulates another process holding the build lock."""

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.saves = 0
        self.loads = 0  # whole-pack parses (load, load_with_sha)
        self.held = False
        self._mtime = 0

    def load(self) -> Pack:
        return self.load_with_sha()[0]

    def load_with_sha(self) -> tuple[Pack, str]:
        self.loads += 1
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

    def writer(self) -> PackWriter:
        return _FakePackWriter(self)

    def load_stored(self) -> StoredPack:
        return LoadedPack(*self.load_with_sha())

    def save_patch(
        self,
        base: StoredPack,
        head: Pack,
        parts: Sequence[ChunkPart],
        before_commit: BeforeCommit | None = None,
    ) -> str:
        kept = base.chunks_of({p.path for p in parts if isinstance(p, KeptChunks)})
        return self.save(replace(head, chunks=patched_chunks(kept, parts)), before_commit)

    def stamp(self) -> tuple[int, int] | None:
        return None if self.data is None else (len(self.data), self._mtime)

    def corrupt(self) -> None:
        self.data = b'{"schema_version": 1, "chunks": [trunc'
        self._mtime += 1

    @contextlib.contextmanager
    def lock(self, timeout_ms: int, shared: bool = False) -> Iterator[None]:
        if self.held:
            raise LockTimeout(f"another build holds the pack lock (waited {timeout_ms} ms)")
        if shared:
            yield
            return
        self.held = True
        try:
            yield
        finally:
            self.held = False

    def settle(self, index_sha: str) -> bool:
        return False


class _FakePackWriter(PackWriter):
    """Collects the chunks, then ``save``."""

    def __init__(self, store: PackStore) -> None:
        self._store = store
        self._chunks: list[PackChunk] = []

    def add(self, chunks: Sequence[PackChunk]) -> None:
        self._chunks.extend(chunks)

    def add_encoded(self, data: bytes) -> None:
        raise AssertionError("the fakes' chunker never encodes (no ChunkEncoder)")

    def commit(self, head: Pack, before_commit: BeforeCommit | None = None) -> str:
        return self._store.save(replace(head, chunks=tuple(self._chunks)), before_commit)

    def close(self) -> None:
        self._chunks = []


class _FakeWriter(IndexWriter):
    """Collects the documents, then ``replace`` (so a test overriding it sees the build)."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index
        self._docs: list[IndexDoc] = []

    def add(self, docs: Sequence[IndexDoc]) -> None:
        self._docs.extend(docs)

    def add_encoded(self, rows: Sequence[tuple[object, ...]]) -> None:
        raise AssertionError("the fakes' chunker never encodes (no ChunkEncoder)")

    def commit(self, info: IndexInfo, state: PackState) -> None:
        self._index.replace(info, self._docs, state)

    def close(self) -> None:
        self._docs = []


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
        self.state_calls = 0
        self.stamp_requests: list[frozenset[str] | None] = []  # file_stamps' paths, per call
        self.on_search: Callable[[], None] | None = None  # called as search() begins
        self.damaged = False  # reads raise PackCorrupt, as an unreadable index file does

    def corrupt(self) -> None:
        self.damaged = True

    def replace(self, info: IndexInfo, docs: Sequence[IndexDoc], state: PackState) -> None:
        self.docs = {d.chunk.id: d for d in docs}
        self._state, self._info = state, info
        self.replaced += 1

    def writer(self) -> IndexWriter:
        return _FakeWriter(self)

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

    def check(self) -> None:
        self._need()

    def _need(self) -> IndexInfo:
        if self.damaged:
            raise PackCorrupt("pack index is corrupt, run ctx build")
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
        if self.on_search is not None:
            self.on_search()
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
            tokens = max(doc.chunk.token_est, LENGTH_FLOOR)
            score *= (tokens / LENGTH_PIVOT) ** ranking.length
            scored.append(Candidate(doc.chunk.id, doc.chunk.path, round(score, 4)))
        scored.sort(key=lambda c: (-c.score, c.id))
        return scored[:limit]

    def count_matches(self, terms: Sequence[str], ids: Sequence[str] | None = None) -> int:
        self._need()
        matching = self._matching(terms)
        if ids is None:
            return len(matching)
        among = set(ids)
        return sum(1 for d in matching if d.chunk.id in among)

    def files_named(self, names: Sequence[str]) -> list[str]:
        self._need()
        wanted = set(names)
        return sorted(
            f.path for f in self._state.files if f.path.rpartition("/")[2].lower() in wanted
        )

    def outline_chunks(self, paths: Sequence[str]) -> dict[str, str]:
        self._need()
        wanted = set(paths)
        ordered = sorted(
            (d.chunk for d in self.docs.values() if d.chunk.path in wanted),
            key=lambda c: (c.path, c.kind not in ("module", "document"), c.line_start),
        )
        out: dict[str, str] = {}
        for chunk in ordered:
            out.setdefault(chunk.path, chunk.id)
        return out

    def chunks(self, ids: Sequence[str]) -> list[PackChunk]:
        self._need()
        return [self.docs[i].chunk for i in ids if i in self.docs]

    def chunk_ids(self) -> list[str]:
        self._need()
        return list(self.docs)

    def state(self) -> PackState:
        self._need()
        self.state_calls += 1
        return self._state

    def file_stamps(self, paths: Collection[str] | None = None) -> list[tuple[str, int, int, str]]:
        self._need()
        self.stamp_requests.append(None if paths is None else frozenset(paths))
        return [
            (f.path, f.size, f.mtime_ns, f.sha256)
            for f in sorted(self._state.files, key=lambda f: f.path)
            if paths is None or f.path in paths
        ]

    def file_stats(self) -> list[tuple[str, int, int]]:
        self._need()
        files = sorted(self._state.files, key=lambda f: f.path)
        return [(f.path, f.size, f.mtime_ns) for f in files]

    def dir_stamps(self) -> list[tuple[str, int]]:
        self._need()
        return [(d.path, d.mtime_ns) for d in sorted(self._state.directories, key=lambda d: d.path)]

    def info(self) -> IndexInfo:
        return self._need()

    def kinds(self) -> dict[str, tuple[int, int]]:
        self._need()
        out: dict[str, tuple[int, int]] = {}
        for d in self.docs.values():
            n, tokens = out.get(d.chunk.kind, (0, 0))
            out[d.chunk.kind] = (n + 1, tokens + d.chunk.token_est)
        return out

    def size_bytes(self) -> int:
        return sum(len(d.body_terms) for d in self.docs.values())
