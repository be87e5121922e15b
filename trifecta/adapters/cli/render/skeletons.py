"""``ast skeleton`` / ``ast symbols`` answers as JSON (docs/cli.md); the text form is the
stub the use case serves (``render_stub``)."""

from __future__ import annotations

from typing import Any

from trifecta.application.skeletons.use_cases import ModuleSymbols, SkeletonResult
from trifecta.domain.model import SkeletonEntry


def symbol_to_json(entry: SkeletonEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "name": entry.name,
        "qualname": entry.qualname,
        "signature": entry.signature,
        "line_start": entry.line_start,
        "line_end": entry.line_end,
        "doc": entry.doc,
        "decorators": list(entry.decorators),
    }


def skeleton_to_json(result: SkeletonResult) -> dict[str, Any]:
    """The JSON object for one file (docs/cli.md, ``trifecta ast skeleton --json``)."""

    skeleton = result.skeleton
    return {
        "path": skeleton.path,
        "parser": skeleton.parser,
        "partial": skeleton.partial,
        "lossy": skeleton.lossy,
        "cache_hit": result.cache_hit,
        "source_bytes": result.source_bytes,
        "skeleton_bytes": result.skeleton_bytes,
        "module_doc": skeleton.module_doc,
        "symbols": [symbol_to_json(e) for e in skeleton.entries],
    }


def module_symbols_to_json(answer: ModuleSymbols) -> dict[str, Any]:
    """The JSON object of ``trifecta ast symbols --json`` (and the MCP ``symbols`` tool)."""

    skeleton = answer.skeleton
    return {
        "selector": str(answer.selector),
        "module": answer.selector.module,
        "member": answer.selector.member,
        "path": skeleton.path,
        "parser": skeleton.parser,
        "partial": skeleton.partial,
        "lossy": skeleton.lossy,
        "cache_hit": answer.result.cache_hit,
        "symbols": [symbol_to_json(e) for e in skeleton.entries],
    }
