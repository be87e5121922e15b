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
import math
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


class _Pattern:
    """A regular expression compiled on its first use: most events need few of the secret
    families, and compiling them all at import cost ~3 ms of every CLI call."""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source, self._flags = source, flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def rx(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled


# Keys whose *string* values are secrets. ``tokens`` (an int count) is not matched because
# only string values are replaced.
_SECRET_KEY = re.compile(
    r"(?i)(?:^|_|-)(?:pass(?:word|wd|phrase)?|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|credentials?|auth(?:orization)?|cookie|session[_-]?id)s?$"
)

# ---- secrets in free text (the token families of gitleaks / detect-secrets) -------------
# Each family is tried only when a cheap substring or run test says it could be there, so
# an ordinary query costs a few substring tests and one charset scan (docs/performance.md).

_PRIVATE_KEY = _Pattern(
    r"-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END[A-Z ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.S,
)
_URL_CREDENTIALS = _Pattern(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@:]*:[^\s/?#@]*@")
_EMAIL = _Pattern(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_AUTH_HEADER = _Pattern(r"(?i)\b(?:bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}")
# ``password=...``, ``api_key: ...``, ``--token ...`` (the key is kept, the value goes).
_SECRET_PAIR = _Pattern(
    r"(?i)((?<![a-z])(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"auth[_-]?token|client[_-]?secret|credentials?|private[_-]?key|account[_-]?key|"
    r"shared[_-]?access[_-]?key|sig)(?:[_-]?(?:key|value|token|secret))?"
    r"(?:\s*[:=]\s*|\s+(?=\S*\d)))"
    r"(?:\"[^\"]*\"|'[^']*'|[^\s&;,'\"]+)"
)
# Token families with a distinctive prefix: (kind, prefixes, the whole token from its start).
_PREFIXED: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "aws_access_key",
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ABIA", "ACCA", "AIPA"),
        r"A[A-Z]{3}[0-9A-Z]{16}(?![0-9A-Za-z])",
    ),
    ("gcp_api_key", ("AIza",), r"AIza[0-9A-Za-z_-]{35}"),
    ("gcp_oauth_token", ("ya29.",), r"ya29\.[0-9A-Za-z_-]{20,}"),
    ("google_client_secret", ("GOCSPX-",), r"GOCSPX-[0-9A-Za-z_-]{20,}"),
    (
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
    ),
    (
        "gitlab_token",
        (
            "glpat-",
            "gldt-",
            "glptt-",
            "glrt-",
            "glcbt-",
            "gloas-",
            "glft-",
            "glimt-",
            "glsoat-",
            "glagent-",
            "GR1348941",
        ),
        r"(?:gl[a-z]{2,5}-|GR1348941)[0-9A-Za-z_-]{20,}",
    ),
    ("npm_token", ("npm_",), r"npm_[A-Za-z0-9]{36}"),
    ("pypi_token", ("pypi-AgE",), r"pypi-AgE[A-Za-z0-9_-]{50,}"),
    (
        "slack_token",
        ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "xapp-"),
        r"x(?:ox[a-z]|app)-[0-9A-Za-z-]{10,}",
    ),
    (
        "stripe_key",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_"),
        r"[srp]k_(?:live|test)_[0-9A-Za-z]{10,}",
    ),
    ("api_key", ("sk-",), r"sk-[A-Za-z0-9_-]{16,}"),
    ("jwt", ("eyJ",), r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    ("twilio_key", ("SK", "AC"), r"(?:SK|AC)[0-9a-fA-F]{32}(?![0-9A-Za-z])"),
    ("sendgrid_key", ("SG.",), r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
    ("mailgun_key", ("key-",), r"key-[0-9a-zA-Z]{32}(?![0-9A-Za-z])"),
    ("huggingface_token", ("hf_",), r"hf_[A-Za-z0-9]{30,}"),
    ("digitalocean_token", ("dop_v1_", "doo_v1_", "dor_v1_"), r"do[opr]_v1_[a-f0-9]{64}"),
    ("shopify_token", ("shpat_", "shpca_", "shppa_", "shpss_"), r"shp[a-z]{2}_[a-fA-F0-9]{32}"),
    ("databricks_token", ("dapi",), r"dapi[a-f0-9]{32}"),
    ("dockerhub_token", ("dckr_pat_",), r"dckr_pat_[A-Za-z0-9_-]{20,}"),
    ("vault_token", ("hvs.", "hvb."), r"hv[sb]\.[A-Za-z0-9_-]{20,}"),
    ("age_secret_key", ("AGE-SECRET-KEY-1",), r"AGE-SECRET-KEY-1[0-9A-Z]{50,}"),
    ("square_token", ("sq0atp-", "sq0csp-"), r"sq0[a-z]{3}-[0-9A-Za-z_-]{22,}"),
    ("grafana_token", ("glsa_", "glc_"), r"gl(?:sa|c)_[A-Za-z0-9_=+-]{30,}"),
    ("newrelic_key", ("NRAK-",), r"NRAK-[A-Z0-9]{27}"),
    ("linear_key", ("lin_api_",), r"lin_api_[A-Za-z0-9]{40}"),
    ("postman_key", ("PMAK-",), r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
)
_PREFIXES = tuple(p for _, prefixes, _ in _PREFIXED for p in prefixes)
_TOKEN = _Pattern("|".join(f"(?P<{kind}>{rx})" for kind, _, rx in _PREFIXED))
# Families that do not start a word: tried only when their marker is in the text.
_MARKED: tuple[tuple[str, str, _Pattern], ...] = (
    (
        "hooks.slack.com",
        "slack_webhook",
        _Pattern(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
    ),
    (
        "discord",
        "discord_webhook",
        _Pattern(r"discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]+"),
    ),
    (":AA", "telegram_token", _Pattern(r"\b\d{8,10}:AA[0-9A-Za-z_-]{30,}")),
    ("Q~", "azure_client_secret", _Pattern(r"[a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34}")),
)
# Words long enough to be a token (split at anything a token does not hold), and longer
# runs (with ``/``, ``+``, ``=``) for the generic high-entropy rule.
_WORD = _Pattern(r"[A-Za-z0-9_.~-]{15,}")
_ENTROPY_RUN = _Pattern(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{24,}(?![A-Za-z0-9+/=_-])")
_HEX = _Pattern(r"[0-9a-fA-F]{40,}")
_TWO_DIGITS = _Pattern(r"\d\D*\d")
ENTROPY_BITS = 3.8


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in (text.count(ch) for ch in set(text)))


def _mixed(text: str) -> bool:
    """Upper case, lower case and at least two digits."""

    return text.lower() != text and text.upper() != text and _TWO_DIGITS.rx.search(text) is not None


def _looks_like_key(run: str) -> bool:
    """A run of 24+ base64/url-safe characters mixing cases and digits with high Shannon
    entropy (detect-secrets' Base64HighEntropyString, simplified). A path (``/``-separated
    parts, none of them key-like) does not qualify."""

    if not _mixed(run):
        return False
    if "/" in run and not any(len(p) >= 12 and _mixed(p) for p in run.split("/")):
        return False
    return _entropy(run) >= ENTROPY_BITS


def _words(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _WORD.rx.finditer(text):
        word = match.group(0)
        kind = None
        if word.startswith(_PREFIXES):
            token = _TOKEN.rx.match(word)
            if token is not None:
                kind, end = token.lastgroup, match.start() + token.end()
        elif len(word) >= 40 and _HEX.rx.fullmatch(word) is not None:
            kind, end = "high_entropy", match.end()
        if kind is not None:
            out.append(text[last : match.start()])
            out.append(f"<redacted:{kind}>")
            last = end
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _entropy_sub(match: re.Match[str]) -> str:
    run = match.group(0)
    return "<redacted:high_entropy>" if _looks_like_key(run) else run


_PAIR_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "bearer", "basic", "sig")
_LONG = re.compile(r"[A-Za-z0-9+/=_.~-]{15,}")


def redact_secrets(text: str) -> str:
    """``text`` with every secret it holds replaced by ``<redacted:KIND>``. Each family runs
    only if a substring test says it could match: an ordinary string costs a few ``in``
    tests and one charset scan."""

    if len(text) < 8:
        return text
    if "-----BEGIN" in text:
        text = _PRIVATE_KEY.rx.sub("<redacted:private_key>", text)
    if "@" in text:
        text = _URL_CREDENTIALS.rx.sub(r"\1<redacted:url_credentials>@", text)
        text = _EMAIL.rx.sub("<redacted:email>", text)
    low = text.lower()
    if any(word in low for word in _PAIR_WORDS):
        text = _AUTH_HEADER.rx.sub("<redacted:bearer>", text)
        text = _SECRET_PAIR.rx.sub(r"\1<redacted:secret_value>", text)
    for marker, kind, rx in _MARKED:
        if marker in text:
            text = rx.rx.sub(f"<redacted:{kind}>", text)
    if _LONG.search(text) is not None:
        text = _words(text)
        if len(text) >= 24:
            text = _ENTROPY_RUN.rx.sub(_entropy_sub, text)
    return text


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
        self._secrets: dict[str, str] = {}
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
        secret_free = self._secrets.get(text)
        if secret_free is None:
            secret_free = redact_secrets(text)
            if len(self._secrets) < 4096:
                self._secrets[text] = secret_free
        text = secret_free
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
