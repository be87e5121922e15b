"""``PackStats``: pack facts, and usage from the telemetry event log (all runs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trifecta.application.packs.recording import failure_event
from trifecta.application.telemetry.service import TelemetryService
from trifecta.application.telemetry.summary import latency_block
from trifecta.domain.errors import PackCorrupt, PackMissing
from trifecta.domain.model import TOKEN_ESTIMATOR, estimate_tokens
from trifecta.domain.packs import PackState, covered_tokens
from trifecta.domain.ports import Clock, PackStore, SearchIndex, TelemetrySink

TOP_ZERO_HIT = 5


@dataclass(frozen=True)
class PackStatsReport:
    pack: Mapping[str, Any] | None
    usage: Mapping[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"pack": self.pack, "usage": self.usage}

    def to_text(self) -> str:
        lines: list[str] = []
        if self.pack is None:
            lines.append("pack: none (run ctx build)")
        else:
            p = self.pack
            lines.append(
                f"pack: {p['files']} files ({p['meta_files']} meta), {p['chunks']} chunks, "
                f"~{p['tokens']} tokens, {p['skipped']} skipped, {p['warnings']} warnings, "
                f"{p['pack_bytes']} B pack, {p['index_bytes']} B index"
            )
            for kind, figures in sorted(p["by_kind"].items()):
                lines.append(f"  {kind}: {figures['chunks']} chunks, ~{figures['tokens']} tokens")
            lines.extend(
                f"  skipped {s['path']}: {s['reason']}" for s in p.get("skipped_paths", [])
            )
        if self.usage is None:
            lines.append("usage: telemetry is off")
        else:
            u = self.usage
            search = u["search_latency_ms"]
            lines.append(
                f"searches: {u['searches']}, zero-hit rate {u['zero_hit_rate']}, "
                f"p50 {search['p50_ms']} ms, p95 {search['p95_ms']} ms"
            )
            get = u["get_latency_ms"]
            lines.append(f"gets: {u['gets']}, p50 {get['p50_ms']} ms, p95 {get['p95_ms']} ms")
            if u["failed_searches"] or u["failed_gets"]:
                lines.append(f"failed: {u['failed_searches']} searches, {u['failed_gets']} gets")
            if u["top_zero_hit_queries"]:
                lines.append("top zero-hit queries:")
                lines.extend(f"  {q['count']}x {q['query']}" for q in u["top_zero_hit_queries"])
        return "\n".join(lines) + "\n"


def usage_from_events(events: Any) -> dict[str, Any]:
    """Search/get usage over every stored event: counts, zero-hit rate, latency
    percentiles (nearest rank, as ``telemetry summary``) and the top zero-hit queries."""

    search_ms: list[int] = []
    get_ms: list[int] = []
    zero: Counter[str] = Counter()
    zero_hits = 0
    failed: Counter[str] = Counter()
    for event in events:
        cmd = event.get("cmd")
        if (event.get("result") or {}).get("status") == "error":
            failed[str(cmd)] += 1  # failed commands served nothing: no latency, no hits
            continue
        if cmd == "ctx.search":
            search_ms.append(int(event.get("timing_ms", 0)))
            result = event.get("result") or {}
            if int(result.get("hits", 0)) == 0:
                zero_hits += 1
                zero[str((event.get("args") or {}).get("query", ""))] += 1
        elif cmd == "ctx.get":
            get_ms.append(int(event.get("timing_ms", 0)))
    searches = len(search_ms)
    return {
        "searches": searches,
        "zero_hit_searches": zero_hits,
        "zero_hit_rate": round(zero_hits / searches, 4) if searches else None,
        "search_latency_ms": latency_block(search_ms),
        "failed_searches": failed["ctx.search"],
        "gets": len(get_ms),
        "failed_gets": failed["ctx.get"],
        "get_latency_ms": latency_block(get_ms),
        "top_zero_hit_queries": [
            {"query": q, "count": n}
            for q, n in sorted(zero.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_ZERO_HIT]
        ],
    }


class PackStats:
    """Pack facts (files, chunks, tokens by kind, sizes) and usage from telemetry."""

    def __init__(
        self,
        store: PackStore,
        index: SearchIndex,
        sink: TelemetrySink | None,
        clock: Clock,
        telemetry: TelemetryService | None = None,
        parser: str = "ast",
    ) -> None:
        self._store = store
        self._parser = parser  # the name of the parser builds use (the pack's ``parser``)
        self._index = index
        self._sink = sink
        self._clock = clock
        self._telemetry = telemetry

    def run(self, usage: bool = True) -> PackStatsReport:
        """Pack facts, and with ``usage`` the usage figures of every stored event (a read of
        the whole event log: up to three 5 MB files)."""

        with failure_event(self._telemetry, self._clock, "ctx.stats", {}):
            start = self._clock.monotonic_ns()
            report = self._run(usage)
            self._record(report, int((self._clock.monotonic_ns() - start) // 1_000_000))
            return report

    def _record(self, report: PackStatsReport, timing_ms: int) -> None:
        if self._telemetry is None:
            return
        self._telemetry.event(
            "ctx.stats",
            {},
            {"status": "ok", "pack": report.pack is not None},
            timing_ms,
            tokens=estimate_tokens(report.to_text()),
        )
        self._telemetry.observe("ctx.stats", timing_ms)

    def _run(self, with_usage: bool) -> PackStatsReport:
        sink = self._sink if with_usage else None
        usage = usage_from_events(sink.read_events()) if sink is not None else None
        stamp = self._store.stamp()
        if stamp is None:
            return PackStatsReport(None, usage)
        try:
            facts = self._from_index(stamp)
        except (PackMissing, PackCorrupt):
            facts = None  # no usable index: the pack itself is counted
        if facts is not None:
            return PackStatsReport(facts, usage)
        try:
            pack = self._store.load()
        except PackMissing:
            return PackStatsReport(None, usage)
        kinds: dict[str, tuple[int, int]] = {}
        for chunk in pack.chunks:
            n, tokens = kinds.get(chunk.kind, (0, 0))
            kinds[chunk.kind] = (n + 1, tokens + chunk.token_est)
        stamp = self._store.stamp()
        facts = self._facts(
            pack.state(),
            len(pack.chunks),
            covered_tokens(pack.chunks),
            kinds,
            (pack.estimator, pack.parser),
            stamp[0] if stamp else 0,
        )
        return PackStatsReport(facts, usage)

    def _from_index(self, stamp: tuple[int, int]) -> dict[str, Any] | None:
        """The same facts from the index, which records the pack's files, skipped paths,
        warnings and chunks: no pack is parsed (a large segment's pack is hundreds of MB).
        None unless the index is the pack's by its stamp (a pack replaced or half-committed
        is counted from the pack itself; stats never wait for a build's lock) and stayed so
        over the reads (a sync elsewhere may commit between them)."""

        info = self._index.info()
        if (info.pack_size, info.pack_mtime_ns) != stamp:
            return None
        state = self._index.state()
        kinds = self._index.kinds()
        if self._index.info() != info:
            return None
        return self._facts(
            state,
            info.chunk_count,
            info.tokens,
            kinds,
            (TOKEN_ESTIMATOR, self._parser),
            info.pack_size,
        )

    def _facts(
        self,
        state: PackState,
        chunks: int,
        tokens: int,
        kinds: Mapping[str, tuple[int, int]],
        made_by: tuple[str, str],
        pack_bytes: int,
    ) -> dict[str, Any]:
        """The report's pack facts, however they were counted (``made_by``: the token
        estimator and the parser)."""

        return {
            "files": len(state.files),
            "meta_files": sum(1 for f in state.files if f.meta),
            "chunks": chunks,
            "tokens": tokens,
            "by_kind": {k: {"chunks": n, "tokens": t} for k, (n, t) in sorted(kinds.items())},
            "skipped": len(state.skipped),
            "skipped_paths": [{"path": s.path, "reason": s.reason} for s in state.skipped],
            "warnings": len(state.warnings),
            "estimator": made_by[0],
            "parser": made_by[1],
            "pack_bytes": pack_bytes,
            "index_bytes": self._index.size_bytes(),
        }
