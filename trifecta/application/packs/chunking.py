"""Cutting files into chunks with meaning, and what the index stores for each.

Markdown: one chunk per heading section (from the heading to the next heading of any
level), plus a ``document`` chunk for text before the first heading; ``title_path`` is the
chain of headings. Python: one chunk per top-level class or function (extended upward over
its decorators and the comment block right above it), plus one ``module`` chunk covering
the whole file whose index entry holds the module docstring, the code outside the
definitions and every defined name.

Ids are ``<path>`` for the file-level chunk and ``<path>#<Name>`` / ``<path>#<slug>`` for
the others; repeats get ``-2``, ``-3``... in file order. The ``<path>`` part is
percent-encoded (``%`` -> ``%25``, then ``,`` -> ``%2C``), so ids never contain ``,`` (the
``--ids`` separator) and two different paths never give the same id. One allocator serves
the whole pack, so ids are unique across files too (``a.py#f`` cut from ``a.py`` and a
text file literally named ``a.py#f`` cannot collide).
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from trifecta.application.packs.ranking import defined_name
from trifecta.application.packs.tokens import index_terms, path_terms
from trifecta.domain.model import Skeleton, SkeletonEntry, estimate_tokens
from trifecta.domain.packs import IndexDoc, PackChunk

PREVIEW_CHARS = 160
PYTHON_KINDS = frozenset({"module", "class", "function", "method"})
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def slugify(title: str) -> str:
    """A GitHub-style anchor: lower case, punctuation dropped, spaces to ``-``."""

    slug = _SLUG_DROP.sub("", title.strip().lower()).replace(" ", "-")
    return slug or "section"


def encode_id_path(path: str) -> str:
    """``path`` as the id prefix: injective and free of ``,``."""

    return path.replace("%", "%25").replace(",", "%2C")


class IdAllocator:
    """Hands out unique ids deterministically: the first ``x`` is ``x``, then ``x-2``...

    One allocator is shared by every file of a pack (``reserve`` the ids kept from a
    previous build first, so a sync never renames an existing chunk)."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._used: set[str] = set(reserved)

    def reserve(self, ids: Iterable[str]) -> None:
        self._used.update(ids)

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self._used:
            n += 1
            candidate = f"{wanted}-{n}"
        self._used.add(candidate)
        return candidate


def preview_of(lines: Iterable[str]) -> str:
    for line in lines:
        stripped = line.strip()
        if stripped:
            return stripped[:PREVIEW_CHARS]
    return ""


def _doc(
    chunk_id: str,
    path: str,
    kind: str,
    title_path: tuple[str, ...],
    lines: list[str],
    start: int,
    end: int,
    meta: bool,
    symbols: tuple[str, ...] = (),
    body: str | None = None,
    preview: str | None = None,
    symbol_words: tuple[str, ...] | None = None,
) -> IndexDoc:
    """``symbols``: the names the chunk holds (its outline); ``symbol_words``: those its
    index entry holds (default: the same), so a name is indexed in the innermost chunk."""

    text = "".join(lines[start - 1 : end])
    chunk = PackChunk(
        id=chunk_id,
        path=path,
        kind=kind,
        title=title_path[-1] if title_path else path,
        title_path=title_path,
        line_start=start,
        line_end=end,
        sha256=sha256_text(text),
        token_est=estimate_tokens(text),
        meta=meta,
        symbols=symbols,
    )
    # The title field holds the chunk's own name (a qualified name, a heading chain): the
    # module path and a document's file name are words of the path field already, and a
    # path word counted in every chunk of a file would lift all of them alike.
    own_title = title_path[1:] if kind in PYTHON_KINDS else title_path
    return IndexDoc(
        chunk=chunk,
        path_terms=path_terms(path),
        title_terms="" if kind == "document" else index_terms(" ".join(own_title)),
        symbol_terms=index_terms(" ".join(symbols if symbol_words is None else symbol_words)),
        body_terms=index_terms(text if body is None else body),
        preview=preview if preview is not None else preview_of(lines[start - 1 : end]),
        name=defined_name(kind, chunk.title),
    )


# ---- Markdown ------------------------------------------------------------------------------


def markdown_headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line number, level, title) of each ATX heading outside fenced code blocks."""

    out: list[tuple[int, int, str]] = []
    fence: str | None = None
    for number, line in enumerate(lines, start=1):
        fence_match = _FENCE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker
            elif marker == fence:
                fence = None
            continue
        if fence is not None:
            continue
        match = _HEADING.match(line)
        if match:
            out.append((number, len(match.group(1)), match.group(2).strip()))
    return out


def _trim_end(lines: list[str], start: int, end: int) -> int:
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end


def chunk_markdown(
    path: str, text: str, meta: bool = False, ids: IdAllocator | None = None
) -> list[IndexDoc]:
    lines = text.splitlines(keepends=True)
    if not lines:
        return []
    headings = markdown_headings(lines)
    ids = ids if ids is not None else IdAllocator()
    key = encode_id_path(path)
    docs: list[IndexDoc] = []
    first = headings[0][0] if headings else len(lines) + 1
    if any(line.strip() for line in lines[: first - 1]):
        end = _trim_end(lines, 1, first - 1)
        docs.append(_doc(ids.take(key), path, "document", (path,), lines, 1, end, meta))
    stack: list[tuple[int, str]] = []
    for i, (number, level, title) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        next_start = headings[i + 1][0] if i + 1 < len(headings) else len(lines) + 1
        end = _trim_end(lines, number, next_start - 1)
        title_path = tuple(t for _, t in stack)
        body_preview = preview_of(lines[number:end]) or title
        docs.append(
            _doc(
                ids.take(f"{key}#{slugify(title)}"),
                path,
                "section",
                title_path,
                lines,
                number,
                end,
                meta,
                symbols=(title,),
                preview=body_preview,
            )
        )
    return docs


# ---- Python --------------------------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def extend_over_decorators(lines: list[str], entry: SkeletonEntry) -> int:
    """The first line of a definition including its decorators (possibly multi-line) and
    the comment block directly above it."""

    start = entry.line_start
    if start < 1 or start > len(lines):
        return max(start, 1)
    column = _indent(lines[start - 1])
    wanted = len(entry.decorators)
    found = 0
    line_no = start - 1
    # Decorators: walk up until as many '@' lines at the def's column as it has decorators.
    while found < wanted and line_no >= 1 and start - line_no <= 200:
        line = lines[line_no - 1]
        if line.strip().startswith("@") and _indent(line) == column:
            found += 1
            start = line_no
        line_no -= 1
    # The comment block right above (no blank line between).
    line_no = start - 1
    while line_no >= 1:
        line = lines[line_no - 1]
        if line.strip().startswith("#") and _indent(line) == column:
            start = line_no
            line_no -= 1
        else:
            break
    return start


def module_name(path: str) -> str:
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


# A class whose text is larger than this (estimated tokens) is also cut into its methods, so
# a search can point at the 40 lines that matter instead of a 1,000-line class.
SPLIT_CLASS_TOKENS = 300


def _within(entries: list[SkeletonEntry], start: int, end: int, first: int) -> tuple[int, int]:
    """Index range ``[first, stop)`` of ``entries`` (sorted by line) starting inside
    ``start..end``; ``first`` is where the scan may begin (linear over a file)."""

    i = first
    while i < len(entries) and entries[i].line_start < start:
        i += 1
    j = i
    while j < len(entries) and entries[j].line_start <= end:
        j += 1
    return i, j


def _uncovered(lines: list[str], start: int, end: int, holes: list[tuple[int, int]]) -> str:
    """The text of lines ``start..end`` outside the (sorted, disjoint) ``holes``."""

    parts: list[str] = []
    cursor = start
    for hole_start, hole_end in holes:
        if hole_start > cursor:
            parts.append("".join(lines[cursor - 1 : hole_start - 1]))
        cursor = max(cursor, hole_end + 1)
    if cursor <= end:
        parts.append("".join(lines[cursor - 1 : end]))
    return "".join(parts)


def chunk_python(
    path: str,
    text: str,
    skeleton: Skeleton | None,
    meta: bool = False,
    ids: IdAllocator | None = None,
) -> list[IndexDoc]:
    """Chunks of a Python file; with no skeleton (unparseable) the module chunk alone.

    One chunk per top-level class or function, one per method of a large class, and the
    module chunk. Every source line is indexed once, in the innermost chunk holding it: the
    module chunk's index body is the code outside the definitions, a split class's is its
    code outside its methods. Linear in the number of definitions."""

    lines = text.splitlines(keepends=True)
    total = max(len(lines), 1)
    ids = ids if ids is not None else IdAllocator()
    key = encode_id_path(path)
    entries = sorted(
        skeleton.entries if skeleton is not None else (), key=lambda e: (e.line_start, e.depth)
    )
    module = module_name(path)
    defs: list[IndexDoc] = []
    holes: list[tuple[int, int]] = []
    cursor = 0
    for position, entry in enumerate(entries):
        if entry.depth != 0 or entry.kind not in ("class", "function"):
            continue
        start = extend_over_decorators(lines, entry)
        end = max(min(entry.line_end, len(lines)), start)
        if holes and start <= holes[-1][1]:
            continue  # overlaps the previous definition (a broken skeleton): skip it
        lo, hi = _within(entries, entry.line_start, entry.line_end, max(cursor, position))
        cursor = hi
        inside = entries[lo:hi]
        symbols = tuple(e.qualname for e in inside) or (entry.qualname,)
        holes.append((start, end))
        if entry.kind != "class":
            defs.append(
                _doc(
                    ids.take(f"{key}#{entry.name}"),
                    path,
                    "function",
                    (module, entry.qualname),
                    lines,
                    start,
                    end,
                    meta,
                    symbols=symbols,
                    preview=entry.signature[:PREVIEW_CHARS],
                )
            )
            continue
        members = [e for e in inside if e.depth == 1 and e.kind in ("method", "function", "class")]
        split = bool(members) and estimate_tokens("".join(lines[start - 1 : end])) > (
            SPLIT_CLASS_TOKENS
        )
        class_id = ids.take(f"{key}#{entry.name}")
        member_docs: list[IndexDoc] = []
        member_holes: list[tuple[int, int]] = []
        if split:
            starts = [e.line_start for e in inside]  # sorted: inside is a slice of entries
            for member in members:
                m_start = max(extend_over_decorators(lines, member), start)
                m_end = max(min(member.line_end, end), m_start)
                if member_holes and m_start <= member_holes[-1][1]:
                    continue
                member_holes.append((m_start, m_end))
                held = inside[bisect_left(starts, m_start) : bisect_right(starts, m_end)]
                nested = tuple(e.qualname for e in held) or (member.qualname,)
                member_docs.append(
                    _doc(
                        ids.take(f"{key}#{member.qualname}"),
                        path,
                        "class" if member.kind == "class" else "method",
                        (module, member.qualname),
                        lines,
                        m_start,
                        m_end,
                        meta,
                        symbols=nested,
                        preview=member.signature[:PREVIEW_CHARS],
                    )
                )
        defs.append(
            _doc(
                class_id,
                path,
                "class",
                (module, entry.qualname),
                lines,
                start,
                end,
                meta,
                symbols=symbols,
                body=_uncovered(lines, start, end, member_holes) if split else None,
                preview=entry.signature[:PREVIEW_CHARS],
                symbol_words=(entry.qualname, *(m.name for m in members)) if split else None,
            )
        )
        defs.extend(member_docs)
    outside = _uncovered(lines, 1, len(lines), holes)
    names = tuple(e.qualname for e in entries)
    module_doc = skeleton.module_doc if skeleton is not None and skeleton.module_doc else ""
    module_chunk = _doc(
        ids.take(key),
        path,
        "module",
        (module,),
        lines,
        1,
        total,
        meta,
        symbols=names,
        symbol_words=tuple(e.name for e in entries if e.depth == 0),
        body=f"{module_doc}\n{outside}",
        preview=(module_doc.strip().splitlines() or [""])[0][:PREVIEW_CHARS] or preview_of(lines),
    )
    return [module_chunk, *defs]


def is_python(path: str) -> bool:
    return path.endswith((".py", ".pyi"))


def is_markdown(path: str) -> bool:
    return path.endswith((".md", ".markdown"))


def chunk_text_file(
    path: str, text: str, meta: bool = False, ids: IdAllocator | None = None
) -> list[IndexDoc]:
    """Any other text file: one ``document`` chunk."""

    lines = text.splitlines(keepends=True)
    end = max(len(lines), 1)
    chunk_id = (ids if ids is not None else IdAllocator()).take(encode_id_path(path))
    return [_doc(chunk_id, path, "document", (path,), lines, 1, end, meta)]
