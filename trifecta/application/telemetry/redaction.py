"""Redaction of telemetry events: the whole event, not a list of keys (seed D.1/D.2).

Pure policy: the segment root, home directory and user name are given as strings by the
composition root; nothing here reads the environment or the disk.

Rules, applied to every string anywhere in args, result, warnings and extra fields (and to
dictionary keys):

- absolute paths inside the segment become segment-relative (``src/a.py``; the root itself
  is ``.``); other absolute paths (and ``~/...``, ``file://...``) become
  ``external/<sha256(path)[:8]>-<filename>``;
- the home directory and the user name (as a whole word) never appear: ``~`` and ``<user>``
  (generic account names such as ``root`` are not personal and are left alone);
- secrets become ``<redacted:KIND>``: AWS access keys, ``sk-`` API keys, GitHub tokens,
  ``Bearer`` tokens, private-key blocks, and the string values of keys named like
  password / token / secret / api_key / credential;
- values of keys named like file contents (``content``, ``snippet``, ``code_snippet``, ``text``...)
  become ``sha256:<12 hex>``; query text is cut to 120 characters, diagnostic messages to
  100, any other string to 500.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

# Account names that identify no person and are ordinary words ("the segment root"): the
# user-name rule skips them (their home directory is still replaced).
GENERIC_USERS = frozenset({"root", "admin", "user", "runner", "ubuntu", "nobody", "build", "ci"})

QUERY_MAX = 120
MESSAGE_MAX = 100
STRING_MAX = 500

QUERY_KEYS = frozenset({"query", "q", "task", "symbol_query", "selector", "pattern"})
MESSAGE_KEYS = frozenset({"message", "diag_message", "diagnostic"})
CONTENT_KEYS = frozenset(
    {"content", "contents", "snippet", "code_snippet", "text", "source_text", "line_text"}
)
# Keys whose *string* values are secrets. ``tokens`` (an int count) is not matched because
# only string values are replaced.
_SECRET_KEY = re.compile(
    r"(?i)(?:^|_|-)(?:pass(?:word|wd|phrase)?|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|credentials?|auth(?:orization)?|cookie|session[_-]?id)s?$"
)

_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----.*?"
            r"(?:-----END (?:[A-Z]+ )*PRIVATE KEY-----|$)",
            re.S,
        ),
    ),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("api_key", re.compile(r"\bsk-(?:[A-Za-z0-9_-]{16,})")),
    ("bearer", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")),
)
_AWS_PREFIX = re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA)")


def _may_hold_secret(text: str) -> bool:
    """A cheap pre-check (substring tests) before running the individual patterns."""

    return (
        "sk-" in text
        or "earer" in text
        or "EARER" in text
        or "PRIVATE KEY" in text
        or ("_" in text and ("gh" in text or "github" in text))
        or _AWS_PREFIX.search(text) is not None
    )


# An absolute path: starts at a '/' (or '~/', or 'file://') not preceded by a word character,
# a dot, a colon or another slash (so URLs and relative paths are left alone).
_PATH = re.compile(r"(?<![\w.~:/-])(?:file://)?(?:~/|/)[^\s'\"`,;:()<>\[\]{}|]+")


_PLAIN, _QUERY, _MESSAGE, _CONTENT, _SECRET = range(5)


def _hash12(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class Redactor:
    """Redacts telemetry values for one segment, home directory and user."""

    def __init__(
        self,
        segment_root: str | Sequence[str] | None = None,
        home: str | None = None,
        user: str | None = None,
    ) -> None:
        """``segment_root``: the root, or several spellings of it (e.g. as given and with
        symlinks resolved); the first is the canonical one."""

        given = [segment_root] if isinstance(segment_root, str) else list(segment_root or ())
        self.roots = tuple(dict.fromkeys(posixpath.normpath(r) for r in given if r))
        self.root = self.roots[0] if self.roots else None
        home_norm = posixpath.normpath(home) if home else None
        self.home = home_norm if home_norm and home_norm != "/" else None
        self.user = user if user and len(user) >= 2 and user not in GENERIC_USERS else None
        self._user_rx = (
            re.compile(rf"(?<![A-Za-z0-9_]){re.escape(self.user)}(?![A-Za-z0-9_])")
            if self.user
            else None
        )
        self._cache: dict[str, str] = {}
        self._key_kinds: dict[str, int] = {}

    # ---- strings ---------------------------------------------------------------------------

    def path(self, raw: str) -> str:
        """An absolute path -> segment-relative or ``external/<hash8>-<name>``."""

        path = raw[7:] if raw.startswith("file://") else raw
        if path.startswith("~/") and self.home:
            path = self.home + path[1:]
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        for root in self.roots:
            if path == root:
                return "."
            if path.startswith(root) and path[len(root)] == "/":
                return path[len(root) + 1 :]
        name = posixpath.basename(path)
        digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return f"external/{digest}-{name}" if name else f"external/{digest}"

    def _paths(self, text: str) -> str:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        out = _PATH.sub(lambda m: self.path(m.group(0)), text)
        if len(self._cache) < 4096:
            self._cache[text] = out
        return out

    def string(self, text: str, limit: int = STRING_MAX) -> str:
        if "/" in text or "~" in text:
            text = self._paths(text)
            if self.home and self.home in text:
                text = text.replace(self.home, "~")
        if _may_hold_secret(text):
            for kind, rx in _SECRETS:
                text = rx.sub(f"<redacted:{kind}>", text)
        if self._user_rx is not None and self.user is not None and self.user in text:
            text = self._user_rx.sub("<user>", text)
        if len(text) > limit:
            text = text[:limit]
        return text

    # ---- structures ------------------------------------------------------------------------

    def _key_kind(self, key: str) -> int:
        kind = self._key_kinds.get(key)
        if kind is None:
            if key in QUERY_KEYS:
                kind = _QUERY
            elif key in MESSAGE_KEYS:
                kind = _MESSAGE
            elif key in CONTENT_KEYS:
                kind = _CONTENT
            elif _SECRET_KEY.search(key):
                kind = _SECRET
            else:
                kind = _PLAIN
            if len(self._key_kinds) < 4096:
                self._key_kinds[key] = kind
        return kind

    def value(self, value: Any, key: str = "") -> Any:
        """Redact any JSON-like value; ``key`` is the name it is stored under."""

        if isinstance(value, str):
            kind = self._key_kind(key) if key else _PLAIN
            if kind == _PLAIN:
                return self.string(value)
            if kind == _QUERY:
                return self.string(value, QUERY_MAX)
            if kind == _MESSAGE:
                return self.string(value, MESSAGE_MAX)
            if kind == _CONTENT:
                return _hash12(value)
            return "<redacted:secret_field>" if value else value
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, bytes | bytearray | memoryview):  # raw bytes are contents
            return "sha256:" + hashlib.sha256(value).hexdigest()[:12]
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v, key) for v in value]
        return self.string(str(value))

    def mapping(self, data: Mapping[Any, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in data.items():
            key = k if isinstance(k, str) else str(k)
            if "/" in key or "~" in key or (self.user is not None and self.user in key):
                key = self.string(key)
            out[key] = self.value(v, key)
        return out
