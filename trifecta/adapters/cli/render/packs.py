"""``ctx search`` / ``ctx get`` answers as text and JSON (the hints name CLI commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: a search must not import get (and its parsers)
    from trifecta.application.packs.freshness import Freshness
    from trifecta.application.packs.get import GetResult, ServedChunk
    from trifecta.application.packs.search import FileHits, SearchResult
    from trifecta.domain.packs import IndexHit

SYNC_HINT = "run ctx sync or pass --sync"


# ---- search -------------------------------------------------------------------------------


def _hit_json(h: IndexHit) -> dict[str, object]:
    return {
        "id": h.chunk.id,
        "path": h.chunk.path,
        "title": h.chunk.title,
        "kind": h.chunk.kind,
        "score": h.score,
        "token_est": h.chunk.token_est,
        "line_start": h.chunk.line_start,
        "line_end": h.chunk.line_end,
        "preview": h.preview,
    }


def _file_json(f: FileHits) -> dict[str, object]:
    return {"path": f.path, "score": f.score, "hits": [_hit_json(h) for h in f.hits]}


def search_json(result: SearchResult) -> dict[str, object]:
    files = {} if result.files is None else {"files": [_file_json(f) for f in result.files]}
    return {
        "query": result.query,
        **files,
        "hits": [_hit_json(h) for h in result.hits],
        "total_hits": result.total_hits,
        "stale": result.freshness.stale,
        "freshness": result.freshness.to_dict(),
        "synced": result.synced is not None,
    }


def stale_line(fresh: Freshness) -> str:
    parts = [
        f"{label}: {', '.join(paths[:10])}{' ...' if len(paths) > 10 else ''}"
        for label, paths in (
            ("changed", fresh.changed),
            ("new", fresh.new),
            ("deleted", fresh.deleted),
        )
        if paths
    ]
    return f"STALE ({SYNC_HINT}): " + "; ".join(parts)


def search_text(result: SearchResult) -> str:
    lines = [f"query: {result.query}  ({result.total_hits} matching chunks)"]
    if result.freshness.stale:
        lines.append(stale_line(result.freshness))
    if not result.hits:
        lines.append("no hits")
    if result.files is not None:
        for rank, ranked in enumerate(result.files, start=1):
            lines.append(f"{rank}. {ranked.path}  score {ranked.score}")
            for hit in ranked.hits:
                c = hit.chunk
                lines.append(
                    f"   [{c.id}] {c.title}  ({c.kind})  ~{c.token_est} tok  "
                    f"{c.path}:{c.line_start}-{c.line_end}"
                )
        return "\n".join(lines) + "\n"
    for rank, hit in enumerate(result.hits, start=1):
        c = hit.chunk
        lines.append(
            f"{rank}. [{c.id}] {c.title}  ({c.kind})  score {hit.score}  "
            f"~{c.token_est} tok  {c.path}:{c.line_start}-{c.line_end}"
        )
        if hit.preview:
            lines.append(f"   {hit.preview}")
    return "\n".join(lines) + "\n"


# ---- get ----------------------------------------------------------------------------------


def _chunk_json(c: ServedChunk) -> dict[str, object]:
    out: dict[str, object] = {
        "id": c.chunk.id,
        "path": c.chunk.path,
        "mode": c.mode,
        "text": c.text,
        "line_start": c.line_start,
        "line_end": c.line_end,
        "token_est": c.token_est,
        "citation": c.citation,
    }
    if c.degraded_from:
        out["degraded_from"] = c.degraded_from
    return out


def get_json(result: GetResult) -> dict[str, object]:
    return {
        "chunks": [_chunk_json(c) for c in result.chunks],
        "total_tokens": result.total_tokens,
        "stop_reason": result.stop_reason,
        "bytes_read": result.bytes_read,
        "stale": result.stale,
        "not_served": list(result.not_served),
    }


def pd_report_line(result: GetResult) -> str:
    served = [c for c in result.chunks if c.mode != "stale"]
    degraded = sum(1 for c in served if c.degraded_from)
    modes = ",".join(sorted({c.mode for c in served})) or "-"
    return (
        f"pd_report: requested={result.requested_mode} served_modes={modes} "
        f"chunks={len(served)} degraded={degraded} stale={len(result.chunks) - len(served)} "
        f"not_served={len(result.not_served)} total_tokens={result.total_tokens} "
        f"bytes_read={result.bytes_read} stop_reason={result.stop_reason}"
    )


def get_text(result: GetResult, pd_report: bool = False) -> str:
    out: list[str] = []
    for c in result.chunks:
        if c.mode == "stale":
            out.append(
                f"--- [{c.chunk.id}] STALE: {c.chunk.path} changed since the build; "
                f"not served ({SYNC_HINT})"
            )
            continue
        note = f", degraded from {c.degraded_from}" if c.degraded_from else ""
        out.append(f"--- [{c.chunk.id}] {c.citation} ({c.mode}{note}, ~{c.token_est} tok)")
        out.append(c.text.rstrip("\n"))
    if result.not_served:
        out.append(f"not served ({result.stop_reason}): {', '.join(result.not_served)}")
    out.append(
        f"stop_reason: {result.stop_reason}  total_tokens: {result.total_tokens}  "
        f"bytes_read: {result.bytes_read}"
    )
    if pd_report:
        out.append(pd_report_line(result))
    return "\n".join(out) + "\n"
