"""Progressive disclosure of one chunk: raw, excerpt and skeleton renderings (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from trifecta.application.packs.chunking import is_python, markdown_headings
from trifecta.application.packs.tokens import tokenize
from trifecta.application.skeletons.stub import render_stub
from trifecta.domain.model import ReadMode, Skeleton
from trifecta.domain.packs import PackChunk
from trifecta.domain.records import replace

EXCERPT_LINES = 40
WINDOW_BEFORE = 10

# Smaller modes a chunk degrades to when it does not fit the budget.
DEGRADE_ORDER: dict[ReadMode, tuple[ReadMode, ...]] = {
    ReadMode.RAW: (ReadMode.RAW, ReadMode.EXCERPT, ReadMode.SKELETON),
    ReadMode.EXCERPT: (ReadMode.EXCERPT, ReadMode.SKELETON),
    ReadMode.SKELETON: (ReadMode.SKELETON,),
}


@dataclass(frozen=True)
class Rendering:
    """A chunk rendered in one mode; lines are those of the file the text comes from
    (for a skeleton: the chunk's range)."""

    mode: ReadMode
    text: str
    line_start: int
    line_end: int


def raw(chunk: PackChunk, lines: list[str]) -> Rendering:
    end = min(chunk.line_end, len(lines))
    return Rendering(
        ReadMode.RAW, "".join(lines[chunk.line_start - 1 : end]), chunk.line_start, end
    )


def best_line(lines: list[str], start: int, end: int, terms: list[str]) -> int | None:
    """The line in [start, end] holding the most distinct query terms (first on ties)."""

    wanted = set(terms)
    best, best_count = None, 0
    for number in range(start, end + 1):
        count = len(wanted.intersection(tokenize(lines[number - 1])))
        if count > best_count:
            best, best_count = number, count
    return best


def excerpt(chunk: PackChunk, lines: list[str], query_terms: list[str] | None) -> Rendering:
    """The first lines of the chunk, indentation kept; or a window around the line that
    best matches the query when one is given and found."""

    end_max = min(chunk.line_end, len(lines))
    start = chunk.line_start
    if query_terms:
        hit = best_line(lines, chunk.line_start, end_max, query_terms)
        if hit is not None:
            start = max(chunk.line_start, hit - WINDOW_BEFORE)
    end = min(end_max, start + EXCERPT_LINES - 1)
    return Rendering(ReadMode.EXCERPT, "".join(lines[start - 1 : end]), start, end)


def code_skeleton(chunk: PackChunk, skeleton: Skeleton | None, lines: list[str]) -> str:
    """Signatures (with decorators and first doc line) of the definitions in the chunk, as
    ``ast skeleton`` renders them (``render_stub``)."""

    if skeleton is None:
        first = next(
            (line for line in lines[chunk.line_start - 1 : chunk.line_end] if line.strip()), ""
        )
        return first if first.endswith("\n") or not first else first + "\n"
    inside = tuple(
        e for e in skeleton.entries if chunk.line_start <= e.line_start <= chunk.line_end
    )
    part = replace(
        skeleton,
        entries=inside,
        module_doc=skeleton.module_doc if chunk.kind == "module" else None,
    )
    return render_stub(part, line_numbers=False)


def markdown_outline(chunk: PackChunk, lines: list[str]) -> str:
    """The headings in the chunk (the whole file's outline for a document chunk), each with
    the first line of text under it."""

    if chunk.kind == "document":
        start, end = 1, len(lines)
    else:
        start, end = chunk.line_start, min(chunk.line_end, len(lines))
    out: list[str] = []
    heads = [h for h in markdown_headings(lines) if start <= h[0] <= end]
    if chunk.kind == "document":
        first = next((ln.strip() for ln in lines[: chunk.line_end] if ln.strip()), "")
        if first:
            out.append(first + "\n")
    for number, level, title in heads:
        out.append(f"{'  ' * (level - 1)}{'#' * level} {title}\n")
        if chunk.kind != "document":
            following = next(
                (ln.strip() for ln in lines[number:end] if ln.strip() and not ln.startswith("#")),
                "",
            )
            if following:
                out.append(f"{'  ' * (level - 1)}  {following[:160]}\n")
    return "".join(out)


def skeleton_of(chunk: PackChunk, skeleton: Skeleton | None, lines: list[str]) -> Rendering:
    text = (
        code_skeleton(chunk, skeleton, lines)
        if is_python(chunk.path)
        else markdown_outline(chunk, lines)
    )
    return Rendering(ReadMode.SKELETON, text, chunk.line_start, chunk.line_end)
