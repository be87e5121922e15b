"""The Python-stub text of a skeleton: what is served to agents (``ast skeleton``, ``ctx get
--mode skeleton``) and what their token counts are taken on. The JSON shape is the CLI's
(``trifecta.adapters.cli.render.skeletons``)."""

from __future__ import annotations

from trifecta.domain.model import Skeleton, SkeletonEntry

INDENT = "    "


def _marker(entry: SkeletonEntry) -> str:
    if entry.line_end > entry.line_start:
        return f"  # L{entry.line_start}-{entry.line_end}"
    return f"  # L{entry.line_start}"


def _doc_line(doc: str) -> str:
    return '"""' + doc.replace('"""', '\\"\\"\\"').rstrip("\\") + '"""'


def render_stub(skeleton: Skeleton, line_numbers: bool = True) -> str:
    """The skeleton as it would read in a ``.pyi`` stub: indentation preserved, ``...`` for
    bodies, the first docstring line kept, optional ``# L12-30`` line-range markers. A
    partial or lossy skeleton starts with a comment saying so."""

    lines: list[str] = []
    if skeleton.partial:
        lines.append(f"# partial: recovered by {skeleton.parser} from a file that does not parse")
    if skeleton.lossy:
        lines.append("# lossy: the file is not valid UTF-8; bad bytes shown as U+FFFD")
    if skeleton.module_doc:
        lines.append(_doc_line(skeleton.module_doc))
    entries = skeleton.entries
    for position, entry in enumerate(entries):
        pad = INDENT * entry.depth
        marker = _marker(entry) if line_numbers else ""
        if entry.kind == "constant":
            lines.append(f"{pad}{entry.signature}{marker}")
            continue
        lines.extend(f"{pad}@{decorator}" for decorator in entry.decorators)
        following = entries[position + 1] if position + 1 < len(entries) else None
        has_children = following is not None and following.depth > entry.depth
        if entry.doc is None and not has_children:
            lines.append(f"{pad}{entry.signature}: ...{marker}")
            continue
        lines.append(f"{pad}{entry.signature}:{marker}")
        if entry.doc is not None:
            lines.append(f"{pad}{INDENT}{_doc_line(entry.doc)}")
    return "\n".join(lines) + "\n" if lines else ""
