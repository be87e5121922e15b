"""``GetChunks``: chunks by id within a token budget, with honest progressive disclosure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trifecta.application.packs.chunking import is_python
from trifecta.application.packs.config import PackSettings
from trifecta.application.packs.disclosure import (
    DEGRADE_ORDER,
    Rendering,
    excerpt,
    raw,
    skeleton_of,
)
from trifecta.application.packs.freshness import Freshness, index_freshness
from trifecta.application.packs.ingest import parse_python
from trifecta.application.packs.recording import failure_event
from trifecta.application.packs.search import ensure_index_matches_pack
from trifecta.application.packs.tokens import query_terms, tokenize
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import InputError, InvalidRequest, UnknownChunks
from trifecta.domain.model import FileText, ReadMode, estimate_tokens
from trifecta.domain.packs import PackChunk
from trifecta.domain.ports import (
    Clock,
    FileReader,
    PackStore,
    SearchIndex,
    SkeletonParser,
)
from trifecta.domain.records import replace

if TYPE_CHECKING:
    from trifecta.application.packs.build import BuildPack, BuildReport

STOP_REASONS = ("complete", "budget", "max_chunks", "evidence")


@dataclass(frozen=True)
class GetRequest:
    ids: tuple[str, ...]
    mode: ReadMode = ReadMode.EXCERPT
    budget_token_est: int = 1500
    max_chunks: int = 20
    stop_on_evidence: bool = False
    query: str | None = None
    sync: bool = False


@dataclass(frozen=True)
class ServedChunk:
    """One chunk as served: ``mode`` is what was served (``stale`` when it was not served
    because its file changed since the build); ``degraded_from`` names the requested mode
    when a smaller one was served to fit the budget."""

    chunk: PackChunk
    mode: str
    text: str
    line_start: int
    line_end: int
    degraded_from: str | None = None

    @property
    def token_est(self) -> int:
        return estimate_tokens(self.text)

    @property
    def citation(self) -> str:
        return f"{self.chunk.path}:{self.line_start}-{self.line_end}"


@dataclass(frozen=True)
class GetResult:
    chunks: tuple[ServedChunk, ...]
    stop_reason: str
    bytes_read: int
    freshness: Freshness
    requested_mode: str
    not_served: tuple[str, ...] = ()
    synced: BuildReport | None = None
    timing_ms: int = 0

    @property
    def total_tokens(self) -> int:
        return sum(c.token_est for c in self.chunks if c.mode != "stale")

    @property
    def stale(self) -> bool:
        return any(c.mode == "stale" for c in self.chunks)


def _args(request: GetRequest) -> dict[str, object]:
    return {
        "ids": list(request.ids[:20]),
        "mode": request.mode.value,
        "budget_token_est": request.budget_token_est,
        "max_chunks": request.max_chunks,
    }


class GetChunks:
    """Serves chunks in order within the budget: a chunk that does not fit in the requested
    mode is served in the next smaller one (raw -> excerpt -> skeleton) and says so; text
    comes from the current file only when its hash still matches the pack."""

    def __init__(
        self,
        index: SearchIndex,
        store: PackStore,
        reader: FileReader,
        parser: SkeletonParser,
        fallback_parser: SkeletonParser | None,
        clock: Clock,
        telemetry: TelemetryService | None,
        settings: PackSettings,
        builder: Callable[[], BuildPack] | None = None,
    ) -> None:
        self._index = index
        self._store = store
        self._reader = reader
        self._parser = parser
        self._fallback = fallback_parser
        self._clock = clock
        self._telemetry = telemetry
        self._settings = settings
        self._builder = builder

    def run(self, request: GetRequest) -> GetResult:
        with failure_event(self._telemetry, self._clock, "ctx.get", _args(request)):
            return self._run(request)

    def _run(self, request: GetRequest) -> GetResult:
        start = self._clock.monotonic_ns()
        if not request.ids:
            raise InvalidRequest("ids", "needs at least one chunk id")
        if request.budget_token_est < 1:
            raise InvalidRequest("budget_token_est", "must be at least 1")
        if request.max_chunks < 1:
            raise InvalidRequest("max_chunks", "must be at least 1")
        ensure_index_matches_pack(self._store, self._index, self._settings.lock_timeout_ms)
        chunks = self._lookup(request.ids)
        fresh = self._freshness(chunks)
        synced = None
        if fresh.stale and request.sync and self._builder is not None:
            synced = self._builder().run(incremental=True)
            chunks = self._lookup(request.ids)
            fresh = self._freshness(chunks)
        result = self._serve(request, chunks, fresh)
        elapsed = int((self._clock.monotonic_ns() - start) // 1_000_000)
        final = replace(result, synced=synced, timing_ms=elapsed)
        self._record(request, final)
        return final

    # ---- steps ---------------------------------------------------------------------------

    def _lookup(self, ids: tuple[str, ...]) -> list[PackChunk]:
        found = self._index.chunks(ids)
        known = {c.id for c in found}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise UnknownChunks(f"unknown chunk id(s): {', '.join(unknown)}")
        return found

    def _freshness(self, chunks: list[PackChunk]) -> Freshness:
        return index_freshness(
            self._reader,
            self._index,
            self._settings.listing_include,
            self._settings.exclude,
            only_paths=frozenset(c.path for c in chunks),
        )

    def _serve(self, request: GetRequest, chunks: list[PackChunk], fresh: Freshness) -> GetResult:
        terms = query_terms(request.query) if request.query else []
        recorded = {f[0]: f[3] for f in self._index.file_stamps({c.path for c in chunks})}
        texts: dict[str, FileText | None] = {}
        remaining = request.budget_token_est
        served: list[ServedChunk] = []
        stop_reason = "complete"
        bytes_read = 0
        for position, chunk in enumerate(chunks):
            if len([s for s in served if s.mode != "stale"]) >= request.max_chunks:
                stop_reason = "max_chunks"
                break
            if chunk.path not in texts:
                texts[chunk.path] = None
                if chunk.path not in fresh.stale_paths:
                    loaded = self._read(chunk.path, request.mode)
                    if loaded is not None:
                        bytes_read += loaded.size_bytes
                        if loaded.sha256 == recorded.get(chunk.path):
                            texts[chunk.path] = loaded
            file_text = texts[chunk.path]
            if file_text is None:
                served.append(ServedChunk(chunk, "stale", "", chunk.line_start, chunk.line_end))
                continue
            rendering = self._fit(chunk, file_text, request.mode, terms, remaining)
            if rendering is None:
                stop_reason = "budget"
                break
            remaining -= estimate_tokens(rendering.text)
            degraded = request.mode.value if rendering.mode != request.mode else None
            served.append(
                ServedChunk(
                    chunk,
                    rendering.mode.value,
                    rendering.text,
                    rendering.line_start,
                    rendering.line_end,
                    degraded,
                )
            )
            if request.stop_on_evidence and terms and set(terms) <= set(tokenize(rendering.text)):
                if position + 1 < len(chunks):
                    stop_reason = "evidence"
                break
        done = {s.chunk.id for s in served}
        not_served = tuple(c.id for c in chunks if c.id not in done)
        return GetResult(
            tuple(served), stop_reason, bytes_read, fresh, request.mode.value, not_served
        )

    def _fit(
        self,
        chunk: PackChunk,
        file_text: FileText,
        mode: ReadMode,
        terms: list[str],
        remaining: int,
    ) -> Rendering | None:
        lines = file_text.text.splitlines(keepends=True)
        for candidate in DEGRADE_ORDER[mode]:
            if candidate is ReadMode.RAW:
                rendering = raw(chunk, lines)
            elif candidate is ReadMode.EXCERPT:
                rendering = excerpt(chunk, lines, terms)
            else:
                skeleton = (
                    parse_python(self._parser, self._fallback, file_text.text, chunk.path).skeleton
                    if is_python(chunk.path)
                    else None
                )
                rendering = skeleton_of(chunk, skeleton, lines)
            if estimate_tokens(rendering.text) <= remaining:
                return rendering
        return None

    def _read(self, path: str, mode: ReadMode) -> FileText | None:
        start = self._clock.monotonic_ns()
        try:
            text = self._reader.read_text(path, mode)
        except InputError:
            return None
        duration = (self._clock.monotonic_ns() - start) / 1_000_000
        if self._telemetry is not None:
            self._telemetry.event(
                "file.read",
                {"file_path_rel": path, "read_mode": mode.value},
                {"status": "ok"},
                int(duration),
                file_path_rel=path,
                read_mode=mode.value,
                bytes_read=text.size_bytes,
                duration_ms=round(duration, 3),
            )
        return text

    def _record(self, request: GetRequest, result: GetResult) -> None:
        if self._telemetry is None:
            return
        self._telemetry.event(
            "ctx.get",
            _args(request),
            {
                "status": "ok",
                "chunks": sum(1 for c in result.chunks if c.mode != "stale"),
                "stale_chunks": sum(1 for c in result.chunks if c.mode == "stale"),
                "degraded": sum(1 for c in result.chunks if c.degraded_from),
                "stop_reason": result.stop_reason,
                "total_tokens": result.total_tokens,
            },
            result.timing_ms,
            bytes_read=result.bytes_read,
            disclosure_mode=request.mode.value,
            cache_hit_rate=result.freshness.cache_hit_rate,
            tokens=result.total_tokens,  # the served texts, whatever the output format
        )
        self._telemetry.observe("ctx.get", result.timing_ms)
        self._telemetry.incr("ctx_get_count")
