"""``SearchPack``: ranked search over a pack's index, with a freshness report."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from trifecta.application.packs.config import PackSettings
from trifecta.application.packs.freshness import (
    Freshness,
    FreshnessCheck,
    WatchedFreshness,
    index_check,
)
from trifecta.application.packs.ranking import (
    CANDIDATES,
    NAMED_MENTIONS,
    combine,
    is_about_tests,
    named_paths,
    ranking_for,
)
from trifecta.application.packs.recording import failure_event
from trifecta.application.packs.tokens import about_package_api, mentioned_files, search_terms
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import (
    InvalidRequest,
    PackCorrupt,
    PackMissing,
    ReadOnlyState,
    UsageError,
)
from trifecta.domain.model import estimate_tokens
from trifecta.domain.packs import Candidate, IndexHit
from trifecta.domain.ports import ChangeHistory, Clock, FileReader, PackStore, SearchIndex
from trifecta.domain.records import record

if TYPE_CHECKING:
    from trifecta.application.packs.build import BuildPack, BuildReport
    from trifecta.domain.listing import SegmentLister

# With ``files``: how many of each file's best chunks are listed.
FILE_HITS = 3


@record
class SearchRequest:
    query: str
    limit: int = 5
    sync: bool = False
    # Collapse the ranking to distinct files (``limit`` files), each with its best chunks.
    files: bool = False


@record
class FileHits:
    """One file of a ``files`` search: its score and its best chunks, best first."""

    path: str
    score: float
    hits: tuple[IndexHit, ...]


@record
class SearchResult:
    """Hits best first (rendering is the driving adapter's job)."""

    query: str
    terms: tuple[str, ...]
    hits: tuple[IndexHit, ...]
    total_hits: int
    freshness: Freshness
    synced: BuildReport | None
    timing_ms: int
    files: tuple[FileHits, ...] | None = None

    @property
    def served_tokens(self) -> int:
        """Tokens the hits put in front of the agent, whatever the output format: per hit,
        the estimate of ``"<id> <title> <preview>"`` (the event's ``tokens``)."""

        return sum(estimate_tokens(f"{h.chunk.id} {h.chunk.title} {h.preview}") for h in self.hits)


def _args(request: SearchRequest) -> dict[str, object]:
    return {
        "query": request.query[:120],
        "limit": request.limit,
        "sync": request.sync,
        "files": request.files,
    }


def ensure_index_matches_pack(store: PackStore, index: SearchIndex, lock_timeout_ms: int) -> None:
    """Cheap consistency check: the pack file is the one the index was built from.

    Lock-free when it can be: the pack's stamp (size, mtime) as the index recorded it, else
    the pack's content sha (a checkout or a copy moves the mtime, not the content). A
    mismatch is usually a build in progress (the index is committed just before the pack
    is renamed into place) or one killed in that window: take the build lock (waiting for
    the build), let the store finish a half-done commit, and look again; only a mismatch
    that survives that is reported. A read-only ``_ctx`` (no lock) reports it at once."""

    if _index_matches(store, index) or _same_content(store, index):
        return
    try:
        with store.lock(lock_timeout_ms):
            settle(store, index)
            if _index_matches(store, index) or _same_content(store, index):
                return
    except ReadOnlyState:
        pass
    raise PackCorrupt("pack and index do not match, run ctx build")


def settle(store: PackStore, index: SearchIndex) -> None:
    """Under the exclusive lock: finish a commit a killed build left half-done (the index
    committed, the pack not yet renamed) and sweep leftover temporary files."""

    try:
        index_sha = index.info().pack_sha
    except (PackMissing, PackCorrupt):
        index_sha = ""
    store.settle(index_sha)


def _same_content(store: PackStore, index: SearchIndex) -> bool:
    _, sha = store.load_with_sha()  # raises PackCorrupt if it does not parse
    return sha == index.info().pack_sha


def _index_matches(store: PackStore, index: SearchIndex) -> bool:
    stamp = store.stamp()
    if stamp is None:
        raise PackMissing("no context pack, run ctx build")
    info = index.info()
    return (info.pack_size, info.pack_mtime_ns) == stamp


class SearchPack:
    """BM25 search with identifier-aware terms; never serves a stale pack silently."""

    def __init__(
        self,
        index: SearchIndex,
        store: PackStore,
        reader: FileReader,
        clock: Clock,
        telemetry: TelemetryService | None,
        settings: PackSettings,
        builder: Callable[[], BuildPack] | None = None,
        lister: Callable[[], SegmentLister] | None = None,
        watched: WatchedFreshness | None = None,
        history: ChangeHistory | None = None,
    ) -> None:
        self._index = index
        self._store = store
        self._reader = reader
        self._clock = clock
        self._telemetry = telemetry
        self._settings = settings
        self._builder = builder
        self._lister = lister
        self._watched = watched  # a long-lived process's change feed (search.watch)
        self._history = history  # recent commits' files (search.history), the ranking's prior

    def run(self, request: SearchRequest) -> SearchResult:
        with failure_event(self._telemetry, self._clock, "ctx.search", _args(request)):
            return self._run(request)

    def _run(self, request: SearchRequest) -> SearchResult:
        start = self._clock.monotonic_ns()
        terms = search_terms(request.query)
        if not terms:
            raise UsageError("the query has no searchable words")
        if request.limit < 1:
            raise InvalidRequest("limit", "must be at least 1")
        ensure_index_matches_pack(self._store, self._index, self._settings.lock_timeout_ms)
        pending = self._start_freshness()
        ranking = ranking_for(request.query, terms)
        # the full-text query runs while the files are stat-ed
        candidates = self._index.search(terms, max(CANDIDATES, request.limit), ranking)
        fresh = pending()
        synced = None
        if fresh.stale and request.sync and self._builder is not None:
            synced = self._builder().run(incremental=True)
            fresh = self._start_freshness()()
            candidates = self._index.search(terms, max(CANDIDATES, request.limit), ranking)
        if not candidates:
            # Nothing holds the words that name the code ("Add `async` support" before any
            # async code exists): the task words are better than no answer.
            wider = search_terms(request.query, task_words=True)
            if wider != terms:
                terms = wider
                ranking = ranking_for(request.query, terms)
                candidates = self._index.search(terms, max(CANDIDATES, request.limit), ranking)
        mentioned = mentioned_files(request.query)
        package_api = about_package_api(request.query)
        named: tuple[str, ...] = ()
        joined: list[str] = []
        if mentioned or package_api:
            candidates, named, joined = self._with_named(
                candidates, mentioned[:NAMED_MENTIONS], package_api, is_about_tests(terms)
            )
        paths = self._index.path_scores(terms, ranking) if candidates else {}
        recent = self._history.recent_changes() if self._history is not None else {}
        ranked_chunks, ranked_files = combine(candidates, paths, mentioned, recent, named)
        files: tuple[FileHits, ...] | None = None
        if request.files:
            top = [(f, f.best(FILE_HITS)) for f in ranked_files[: request.limit]]
            hits = self._index.hits([(c.id, c.score) for _, best in top for c in best])
            by_id = {h.chunk.id: h for h in hits}
            files = tuple(
                FileHits(f.path, f.score, tuple(by_id[c.id] for c in best if c.id in by_id))
                for f, best in top
            )
        else:
            hits = self._index.hits([(c.id, c.score) for c in ranked_chunks[: request.limit]])
        total = 0
        if hits:  # the chunks that joined, counted once (one that matches is counted)
            total = self._index.count_matches(terms) + len(joined)
            if joined:
                total -= self._index.count_matches(terms, joined)
        elapsed = (self._clock.monotonic_ns() - start) // 1_000_000
        result = SearchResult(
            request.query,
            tuple(terms),
            tuple(hits),
            total,
            fresh,
            synced,
            int(elapsed),
            files=files,
        )
        self._record(request, result)
        return result

    def _with_named(
        self,
        candidates: list[Candidate],
        mentioned: tuple[str, ...],
        package_api: bool,
        about_tests: bool,
    ) -> tuple[list[Candidate], tuple[str, ...], list[str]]:
        """The candidates with the files the query names (``named_paths``): each one's
        outline chunk scores at least as the best candidate, joining the candidates if it
        was not one (even when none matched). Also the named paths, and the ids of the
        chunks that joined."""

        names = {m.rpartition("/")[2] for m in mentioned}
        if package_api:
            names.add("__init__.py")
        scores: dict[str, float] = {}
        for c in candidates:
            scores[c.path] = max(scores.get(c.path, c.score), c.score)
        named = named_paths(
            mentioned,
            package_api,
            self._index.files_named(sorted(names)),
            self._settings.demote,
            scores,
            about_tests,
        )
        if not named:
            return candidates, (), []
        best = max(scores.values(), default=1.0)
        outline = self._index.outline_chunks(named)
        out = list(candidates)
        at = {c.id: i for i, c in enumerate(out)}
        joined: list[str] = []
        for path in named:
            chunk_id = outline.get(path)
            if chunk_id is None:
                continue
            if chunk_id in at:
                i = at[chunk_id]
                out[i] = Candidate(chunk_id, path, max(out[i].score, best))
            else:
                out.append(Candidate(chunk_id, path, best))
                joined.append(chunk_id)
        return out, named, joined

    def _start_freshness(self) -> Callable[[], Freshness]:
        """The freshness check, under way: call the result for it. A watched segment's
        check is done at once (usually reused without a stat pass); otherwise the stat
        pass runs on a thread while the caller queries the index."""

        def check() -> FreshnessCheck:
            return index_check(
                self._reader,
                self._index,
                self._settings.listing_include,
                self._settings.exclude,
                lister=self._lister,
            )

        if self._watched is None:
            return check().start()
        pack_sha = self._index.info().pack_sha
        fresh = self._watched.check(self._index, pack_sha, lambda: check().run())
        return lambda: fresh

    def _record(self, request: SearchRequest, result: SearchResult) -> None:
        if self._telemetry is None:
            return
        self._telemetry.event(
            "ctx.search",
            _args(request),
            {
                "status": "ok",
                "hits": len(result.hits),
                "total_hits": result.total_hits,
                "returned_ids": [h.chunk.id for h in result.hits],
                "stale": result.freshness.stale,
            },
            result.timing_ms,
            bytes_read=result.freshness.bytes_read,
            disclosure_mode="preview",
            cache_hit_rate=result.freshness.cache_hit_rate,
            tokens=result.served_tokens,
        )
        self._telemetry.observe("ctx.search", result.timing_ms)
        self._telemetry.incr("ctx_search_count")
        if not result.hits:
            self._telemetry.incr("ctx_search_zero_hit_count")
