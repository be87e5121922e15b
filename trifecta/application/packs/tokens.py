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
from keyword import iskeyword, issoftkeyword

_WORD = re.compile(r"\w+")
# ``\w+`` on ASCII text, without the Unicode category lookups (its ``findall`` ~1/3 faster on
# source code, ``index_terms`` ~13 %: the build tokenises every chunk's text, mostly ASCII).
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# English function words: dropped from queries (never from the index), unless nothing else
# is left. Contraction stems (``don`` of "don't") are here too; one-letter tokens always go.
QUERY_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did didn do does doesn doing don down
    during each few for from further had hadn has hasn have haven having he her here hers
    him his how i if in into is isn it its itself just ll me more most my no nor not now of
    off on once only or other our ours out over own re same shan she should shouldn so some
    such than that the their theirs them then there these they this those through to too
    under until up very was wasn we were weren what when where which while who whom why will
    with won would wouldn you your yours ve dont doesnt didnt isnt cant wont""".split()  # noqa: SIM905
)
# Verbs and words of task descriptions ("Fix ...", "Add support for ...", "Allow ... when"):
# dropped from queries that read like a sentence (three words or more), where they name the
# change, not the code; an identifier query keeps them (``update``, ``add`` are method names).
TASK_WORDS = frozenset(
    """add added adding adds allow allowed allowing allows avoid better bug case cases change
    changed changes correct correctly deprecate ensure error fix fixed fixes fixing handle
    handled handles handling improve improved improves instead issue make makes new now
    possible prevent properly remove removed removes rename renamed show shows support
    supported supports update updated updates use used uses using work works""".split()  # noqa: SIM905
)
PROSE_WORDS = 3
# A word of a query that names a file: a source or prose file ("utils.py",
# "src/pkg/__init__.py", "README.md") loses its extension as a search word; a data file
# ("setup.cfg", "config.yaml") keeps it, because ``Response.json`` or ``ruamel.yaml`` are
# names, not files. Either way the file it names is the one the query is about. A dotted
# name that goes on (``flask.json.dumps``) or is called (``Response.json()``) is no file.
_MENTION_TAIL = r"(?![\w(]|\.\w)"
_FILE_MENTION = re.compile(
    r"(?<![\w.])((?:[\w-]+/)*[\w-]*\w)\.(?:py|pyi|pyx|md|rst|txt|toml|cfg|ini|json|ya?ml)"
    + _MENTION_TAIL,
    re.IGNORECASE,
)
_SOURCE_MENTION = re.compile(
    r"(?<![\w.])((?:[\w-]+/)*[\w-]*\w)\.(?:py|pyi|pyx|md|rst)" + _MENTION_TAIL, re.IGNORECASE
)


def _split_word(word: str) -> tuple[str, ...]:
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


# Queries and chunk text served by get meet few distinct words: cached.
word_tokens = lru_cache(maxsize=65536)(_split_word)


def tokenize(text: str) -> list[str]:
    """All tokens of ``text`` in order (with repeats, as BM25 term frequency needs)."""

    out: list[str] = []
    for word in _WORD.findall(text):
        out.extend(word_tokens(word))
    return out


class _WordTerms(dict[str, str]):
    """word -> its tokens joined by spaces (``""`` for a word without tokens), filled on
    demand and emptied when large: what ``index_terms`` looks each word up in (a build
    meets the same identifiers over and over)."""

    limit = 1 << 15

    def __missing__(self, word: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        terms = " ".join(_split_word(word))
        self[word] = terms
        return terms


_WORD_TERMS = _WordTerms()


def index_terms(text: str) -> str:
    """``text`` as the space-separated token stream an index column stores: the same as
    ``" ".join(tokenize(text))``, one dictionary lookup per word (the build's hot loop)."""

    words = (_ASCII_WORD if text.isascii() else _WORD).findall(text)
    return " ".join(filter(None, map(_WORD_TERMS.__getitem__, words)))


@lru_cache(maxsize=4096)
def path_terms(path: str) -> str:
    """A segment-relative path as index terms: its directories and its file name without
    the extension (``pkg/http/server.py`` -> pkg, http, server)."""

    head, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return index_terms(f"{head.replace('/', ' ')} {stem}")


# A package's top-level names, its public API, what it exports: what its ``__init__.py``
# defines ("Add exceptions missing from top-level package", "mark top-level names as
# exported", "Tighten up the public API", "Export Response from the package"). Not "the
# top-level await / keys / directory", "exported CSV files", "the public API key".
_PACKAGE_API = re.compile(
    r"(?i)\btop[- ]level\s+(?:\w+\s+)?(?:package|module|namespace|names|exports?)\b"
    r"|\b(?:top[- ]level|public)\s+api\b(?!\s+(?:calls?|keys?|requests?|clients?|tokens?|secrets?))"
    r"|\bre-?export"
    r"|\b(?:export|expos)\w*\b[^.;:]{0,40}?\b(?:from|at)\s+(?:the\s+)?package\b(?!['\u2019]s)"
    r"|\bpackage[- ](?:level|root|namespace)\b"
    r"|\b__all__\b"
)


def mentioned_files(query: str) -> tuple[str, ...]:
    """The files a query names, lower-case, as written (``"Remove X from __init__.py"`` ->
    ``("__init__.py",)``; ``"fix src/pkg/app.py"`` -> ``("src/pkg/app.py",)``), without a
    leading ``/`` (an absolute path is matched by its tail)."""

    slashed = query.replace("\\", "/")  # a Windows path names the same file
    return tuple(dict.fromkeys(m.group(0).lower() for m in _FILE_MENTION.finditer(slashed)))


def about_package_api(query: str) -> bool:
    """Whether a query is about a package's top-level names (its ``__init__.py``)."""

    return _PACKAGE_API.search(query) is not None


def without_extensions(query: str, dunder_files: str | None = None) -> str:
    """The query with each source or prose file it names reduced to its path without the
    extension; with ``dunder_files``, a file named like ``__init__.py`` is replaced by
    that string instead (it names a file, not the ``__init__`` of every class)."""

    def strip(match: re.Match[str]) -> str:
        path = match.group(1)
        stem = path.rsplit("/", 1)[-1]
        if dunder_files is not None and stem.startswith("__") and stem.endswith("__"):
            return dunder_files
        return path

    return _SOURCE_MENTION.sub(strip, query.replace("\\", "/"))


_CODE_SPAN = re.compile(r"`([^`]+)`")
# A word written as code: with an underscore (``__all__``, ``_private``) or a lower-case
# letter followed by a capital (``getValue``).
_CODE_WORD = re.compile(r"_|[a-z][A-Z]")


def code_words(query: str) -> frozenset[str]:
    """The whole tokens of the words a query writes as code (in backticks, with an
    underscore or in camelCase): names, never stopwords or task words, even when they read
    as English (``__all__`` -> all, ``__about__`` -> about, `` `show` `` -> show). Python's
    keywords, soft ones too, in a code span (`` `from x import y` ``, `` `match` ``) are not
    names."""

    marked = [
        w
        for span in _CODE_SPAN.findall(query)
        for w in _WORD.findall(span)
        if not (iskeyword(w) or issoftkeyword(w))
    ]
    marked.extend(w for w in _WORD.findall(query) if _CODE_WORD.search(w))
    return frozenset(tokens[0] for w in marked if (tokens := word_tokens(w)))


# "Python 3.8", "python3.8", "Python<3.5.3", "py38", "Python 2": a task about a version of
# Python ("Drop support for Python 3.8") is about the code that checks it.
_PYTHON_VERSION = re.compile(
    r"(?i)\b(?:c?python[\s-]*v?\s*[<>=!]*\s*([23])(?:\.(\d{1,2}))?(?:\.\d+)?|py([23])(\d{0,2}))(?!\w|\.\w)"
)


def version_terms(query: str) -> list[str]:
    """Terms for the code a query about Python versions is about: ``version_info`` (the
    check) and the version constants projects name (``PY38``, ``PY3``)."""

    out: list[str] = []
    for match in _PYTHON_VERSION.finditer(query):
        major = match.group(1) or match.group(3)
        minor = match.group(2) or match.group(4)
        for term in ("version_info", f"py{major}{minor}" if minor else "", f"py{major}"):
            if term and term not in out:
                out.append(term)
    return out


def query_terms(query: str, task_words: bool = False) -> list[str]:
    """Distinct tokens of a query, in order, without stopwords, one-letter tokens, the
    extensions of the files it names and (in a query that reads like a sentence, unless
    ``task_words``) task words, unless nothing else is left; a word written as code
    (``code_words``) is kept whatever it reads as."""

    seen: list[str] = []
    for token in tokenize(without_extensions(query)):
        if token not in seen:
            seen.append(token)
    drop = QUERY_STOPWORDS
    if len(query.split()) >= PROSE_WORDS and not task_words:
        drop = drop | TASK_WORDS
    code = code_words(query)
    kept = [t for t in seen if len(t) > 1 and (t not in drop or t in code)]
    return kept or [t for t in seen if len(t) > 1] or seen


def search_terms(query: str, task_words: bool = False) -> list[str]:
    """What a search looks for: ``query_terms``, then the ``version_terms`` of a query
    naming a Python version (not the query's own words: ``ctx get``'s evidence stop does
    not wait for them)."""

    terms = query_terms(query, task_words)
    return terms + [t for t in version_terms(query) if t not in terms]
