"""Identifier-aware tokenisation, shared by indexing and querying.

``ContextService`` -> contextservice, context, service; ``resolve_segment_state`` ->
resolve_segment_state, resolve, segment, state; ``os.path.join`` -> os, path, join;
``HTTPServer2`` -> httpserver2, http, server, 2. The whole identifier is kept as a token
beside its parts, so an exact identifier outranks documents that only share its parts.
Tokens are lower-case runs of word characters (Unicode letters, digits, ``_``), safe to
quote in an FTS5 query.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+")
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# Words too common in code and prose to say anything about a chunk (kept short on purpose:
# BM25's IDF already discounts frequent terms; these are dropped from queries only).
QUERY_STOPWORDS = frozenset({"the", "a", "an", "of", "to", "in", "and", "or", "is", "for", "on"})


@lru_cache(maxsize=65536)
def word_tokens(word: str) -> tuple[str, ...]:
    """Tokens of one identifier-like word: the whole word, then its parts (deduplicated)."""

    whole = word.lower().strip("_")
    if not whole:
        return ()
    out = [whole]
    for piece in word.split("_"):
        if not piece:
            continue
        for part in _PART.findall(piece) if piece.isascii() else (piece,):
            low = part.lower()
            if low not in out:
                out.append(low)
    return tuple(out)


def tokenize(text: str) -> list[str]:
    """All tokens of ``text`` in order (with repeats, as BM25 term frequency needs)."""

    out: list[str] = []
    for word in _WORD.findall(text):
        out.extend(word_tokens(word))
    return out


def index_terms(text: str) -> str:
    """``text`` as the space-separated token stream an index column stores."""

    return " ".join(tokenize(text))


def query_terms(query: str) -> list[str]:
    """Distinct tokens of a query, in order, without stopwords (unless nothing else is left)."""

    seen: list[str] = []
    for token in tokenize(query):
        if token not in seen:
            seen.append(token)
    kept = [t for t in seen if t not in QUERY_STOPWORDS]
    return kept or seen
