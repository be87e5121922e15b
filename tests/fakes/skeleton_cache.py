"""The skeleton cache in memory."""

from __future__ import annotations

from collections.abc import Mapping

from trifecta.domain.model import (
    Skeleton,
)
from trifecta.domain.ports import (
    SkeletonCache,
)
from trifecta.domain.skeleton_codec import decode_skeleton, encode_skeleton


class FakeSkeletonCache(SkeletonCache):
    """A skeleton cache in a dict, with the real one's size rules: values are measured by
    their encoded size, larger than ``max_entry_bytes`` are not stored, and the total stays
    under ``max_bytes`` by evicting the least recently used first."""

    def __init__(self, max_bytes: int = 1 << 20, max_entry_bytes: int = 1 << 16) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self.values: dict[tuple[str, str, str], bytes] = {}  # insertion order = recency

    def get(self, sha256: str, parser: str, version: str) -> Skeleton | None:
        key = (sha256, parser, version)
        data = self.values.pop(key, None)
        if data is None:
            return None
        self.values[key] = data  # most recently used last
        return decode_skeleton(data)

    def put(self, sha256: str, parser: str, version: str, skeleton: Skeleton) -> bool:
        data = encode_skeleton(skeleton)
        if len(data) > self.max_entry_bytes:
            return False
        key = (sha256, parser, version)
        self.values.pop(key, None)
        self.values[key] = data
        while sum(len(v) for v in self.values.values()) > self.max_bytes:
            del self.values[next(iter(self.values))]
        return True

    def stats(self) -> Mapping[str, int]:
        return {"entries": len(self.values), "bytes": sum(len(v) for v in self.values.values())}
