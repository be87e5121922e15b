"""Answers that fit: every tool result is measured (characters / 4, like the packs'
estimates) and, over the bound, shortened by dropping whole list items from the end and
saying so (``truncated: true`` plus a ``next_offset`` or a ``note``); never a silent cut."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

DEFAULT_MAX_TOKENS = 20_000


def token_estimate(payload: Any) -> int:
    """Tokens of the JSON the client receives (characters / 4, rounded up)."""

    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return (len(text) + 3) // 4


def fit_list(
    payload: dict[str, Any],
    key: str,
    max_tokens: int,
    offset: int = 0,
    render: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """``payload`` with ``payload[key]`` cut to the longest prefix that fits ``max_tokens``;
    when items were dropped: ``truncated`` true, ``next_offset`` (where the next page
    starts, counting from ``offset``) and a ``note``. ``render`` maps the payload to what
    is measured (default: itself)."""

    measure = render or (lambda p: p)
    items = list(payload.get(key) or [])
    if token_estimate(measure(payload)) <= max_tokens:
        return {**payload, "truncated": False}
    lo, hi = 0, len(items)  # the longest prefix that fits: binary search on its length
    while lo < hi:
        mid = (lo + hi + 1) // 2
        trial = _cut(payload, key, items, mid, offset)
        if token_estimate(measure(trial)) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return _cut(payload, key, items, lo, offset)


def _cut(
    payload: dict[str, Any], key: str, items: list[Any], keep: int, offset: int
) -> dict[str, Any]:
    dropped = len(items) - keep
    return {
        **payload,
        key: items[:keep],
        "truncated": True,
        "next_offset": offset + keep,
        "note": f"{dropped} of {len(items)} {key} left out to stay within the answer bound; "
        f"ask again with offset={offset + keep}",
    }
