"""A compact, versioned JSON encoding of a ``Skeleton`` (what skeleton caches store).

Rows instead of objects keep it small and fast to decode. ``decode_skeleton`` raises
``ValueError`` on anything it does not recognise, so a corrupt or foreign value is a miss,
never a wrong skeleton.
"""

from __future__ import annotations

import json
from typing import Any

from trifecta.domain.model import SKELETON_KINDS, Skeleton, SkeletonEntry

CODEC_VERSION = 1


def encode_skeleton(skeleton: Skeleton) -> bytes:
    rows = [
        [
            e.kind,
            e.name,
            e.qualname,
            e.signature,
            e.line_start,
            e.line_end,
            e.doc,
            list(e.decorators),
            e.depth,
        ]
        for e in skeleton.entries
    ]
    document = [
        CODEC_VERSION,
        skeleton.path,
        skeleton.parser,
        skeleton.partial,
        skeleton.module_doc,
        skeleton.source_bytes,
        skeleton.lossy,
        rows,
    ]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_skeleton(data: bytes) -> Skeleton:
    try:
        document: Any = json.loads(data)
        version, path, parser, partial, module_doc, source_bytes, lossy, rows = document
        if version != CODEC_VERSION:
            raise ValueError(f"skeleton codec version {version!r}")
        entries = []
        for kind, name, qual, sig, start, end, doc, decorators, depth in rows:
            if kind not in SKELETON_KINDS:
                raise ValueError(f"unknown skeleton kind {kind!r}")
            entries.append(
                SkeletonEntry(kind, name, qual, sig, start, end, doc, tuple(decorators), depth)
            )
    except (TypeError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"not an encoded skeleton: {e}") from e
    except ValueError as e:  # wrong number of fields to unpack
        raise ValueError(f"not an encoded skeleton: {e}") from e
    return Skeleton(
        path=path,
        parser=parser,
        partial=bool(partial),
        module_doc=module_doc,
        entries=tuple(entries),
        source_bytes=source_bytes,
        lossy=bool(lossy),
    )
