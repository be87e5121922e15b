"""How search ranks: the policy on top of BM25 (see docs/adr/0009).

The index scores chunks with BM25 over their own name, symbols and body; this module says
what the index is asked for and how its candidates become the answer:

- **Roles**: test, example, benchmark and vendored code (``test/``, ``tests/``,
  ``test_*.py``, ``conftest.py``, ``vendor/``, ``packages/``... configurable) is *demoted*:
  its scores are multiplied by ``DEMOTE`` unless the query is about tests. Test names
  paraphrase tasks (``test_response_picklable``) and would crowd out the code under test.
- **Definitions above mentions**: a chunk whose own name (the last part of its qualified
  name, or its module's name) is a word of the query is boosted by ``DEFINES``.
- **Length**: every chunk's score is multiplied by its length factor to the power
  ``LENGTH`` (domain ``LENGTH_PIVOT``): FTS5's row-length normalisation alone favours
  small chunks over the large definitions where changes happen.
- **Evidence per file**: a file's score adds up its best chunks (decaying weights) and the
  BM25 of its path's words (counted once per file, not once per chunk). Each chunk's final
  score is its own plus ``FILE_SHARE`` of its file's, so chunks of the file the task is
  about rise together, and ``--files`` lists files by that score.

- **Files the query names** (``utils.py``; "the top-level package" / "public API": the
  top-level ``__init__.py``): their evidence counts ``MENTIONED`` times, and their outline
  chunk scores at least as the best candidate, even when their text holds none of the
  query's words (``named_paths``).

All of it is plain arithmetic on the candidates the index returns (the best ``CANDIDATES``
chunks); ties are broken by id (chunks) and path (files), so rankings are deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from fnmatch import fnmatchcase

from trifecta.application.packs.tokens import without_extensions
from trifecta.domain.packs import DEFAULT_DEMOTE, Candidate, Ranking
from trifecta.domain.records import record

# The index's best chunks after the factors that make the answer (300 and 200 gave the same
# rankings on the development and held-out sets; ADR 0009 amendment 10).
CANDIDATES = 200
DEMOTE = 0.35
ABOUT_TESTS_DEMOTE = 0.7
DEFINES = 2.5
FILE_SHARE = 0.5
PATH_WEIGHT = 1.0
# Weights of a file's 1st, 2nd, 3rd... best chunk in its evidence.
FILE_DECAY = (1.0, 0.5, 0.25, 0.125)
# A file's n-th best chunk has its final score multiplied by CROWDING ** (n - 1), so a page
# of hits spans several files instead of one file's every method.
CROWDING = 0.5
PROSE = 0.5
# A file the query names ("... from __init__.py") has its evidence multiplied by MENTIONED.
MENTIONED = 2.0
# A file that n of the repository's recent commits changed has its evidence multiplied by
# 1 + RECENT * ln(1 + n): code that has been changing is what tasks are about.
RECENT = 0.5
# A file a query names (``mentioned_files``, ``about_package_api``) answers it even when its
# text holds few or none of its words: its outline chunk scores at least as the best
# candidate (then MENTIONED applies). At most NAMED_FILES files per query, from its first
# NAMED_MENTIONS mentions.
NAMED_FILES = 3
NAMED_MENTIONS = 8
LENGTH = 0.1
SCORE_DIGITS = 4

# Query words that make a query "about tests": then tests are not demoted.
TEST_WORDS = frozenset({"test", "tests", "testing", "pytest", "unittest", "fixture", "fixtures"})
_NAME = re.compile(r"[A-Za-z_][\w.]*")


def is_demoted(path: str, patterns: Sequence[str] = DEFAULT_DEMOTE) -> bool:
    low = path.lower()
    parts = low.split("/")
    for pattern in patterns:
        pattern = pattern.lower()
        if "/" in pattern:  # anchored at the segment's root ("tools/*", "/setup.py")
            if fnmatchcase(low, pattern.removeprefix("/")):
                return True
        elif any(fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def defined_name(kind: str, title: str) -> str:
    """The name a chunk defines, lower-case: ``Class.method`` -> ``method``, a module
    ``pkg.http.server`` -> ``server``; "" for prose chunks."""

    if kind not in ("module", "class", "function", "method"):
        return ""
    return title.rsplit(".", 1)[-1].lower()


def query_names(query: str, terms: Iterable[str]) -> tuple[str, ...]:
    """The identifiers of a query a chunk may define: each word (and each part of a dotted
    name) lower-case, kept only when it survived as a search term (no stopwords)."""

    kept = set(terms)
    out: list[str] = []
    named = without_extensions(query, dunder_files=" ")  # "__init__.py" defines no name
    for word in _NAME.findall(named):
        for part in word.split("."):
            low = part.lower().strip("_")
            if len(low) > 1 and (low in kept or part.lower() in kept) and low not in out:
                out.append(part.lower())
    return tuple(out)


def is_about_tests(terms: Sequence[str]) -> bool:
    return any(t in TEST_WORDS for t in terms)


def ranking_for(query: str, terms: Sequence[str]) -> Ranking:
    about_tests = is_about_tests(terms)
    return Ranking(
        names=query_names(query, terms),
        defines=DEFINES,
        demote=ABOUT_TESTS_DEMOTE if about_tests else DEMOTE,
        prose=PROSE,
        length=LENGTH,
    )


@record
class RankedFile:
    """A file and its evidence: its score and its chunks, best first, with the scores the
    index gave them (``best`` gives them their final, served scores)."""

    path: str
    score: float
    hits: tuple[Candidate, ...]

    def best(self, n: int) -> tuple[Candidate, ...]:
        """The file's ``n`` best chunks scored as a ``--files`` answer serves them: their
        own score plus ``FILE_SHARE`` of the file's."""

        return tuple(
            Candidate(c.id, self.path, _rounded(c.score + FILE_SHARE * self.score))
            for c in self.hits[:n]
        )


def _rounded(x: float) -> float:
    return round(x, SCORE_DIGITS)


def _shared_tail(path: str, mention: str) -> int:
    """How many trailing path components ``path`` and ``mention`` share (lower-case), when
    one names the other (the same path, or one ends with the other at a ``/``: the shorter
    one's components all shared), else 0."""

    a, b = path.lower().split("/"), mention.split("/")
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n if n == min(len(a), len(b)) else 0


def is_mentioned(path: str, mentioned: Sequence[str]) -> bool:
    """Whether ``path`` is one of the files a query names: the same path, or one ends with
    the other at a ``/`` (``app.py`` names ``src/pkg/app.py``; ``src/pkg/app.py`` names
    ``app.py`` of a segment that is ``src/pkg``; an absolute path names its tail)."""

    return any(_shared_tail(path, m) for m in mentioned)


def named_paths(
    mentioned: Sequence[str],
    package_api: bool,
    paths: Iterable[str],
    demote: Sequence[str] = DEFAULT_DEMOTE,
    scores: Mapping[str, float] | None = None,
    about_tests: bool = False,
) -> tuple[str, ...]:
    """The files of ``paths`` a query names. For each of its ``mentioned`` files: those it
    names (the one's path ends with the other's at a ``/``) that share the most trailing
    components with it (``src/flask/app.py`` names that file before a root ``app.py``),
    code before demoted files (``demote``; not in a query ``about_tests``), at the least
    depth. With ``package_api``, the shallowest ``__init__.py`` files that are not demoted,
    when there are at most two (one top-level package, or a pair like ``attr``/``attrs``;
    several apps side by side are no answer). A name that still fits several files is the
    one of them the query's words found best (``scores``: a file's best candidate score),
    or none. At most ``NAMED_FILES``, mentions first."""

    listed = list(paths)
    found = scores or {}
    out: list[str] = []

    def take(group: list[str]) -> None:
        if not about_tests:
            group = [p for p in group if not is_demoted(p, demote)] or group
        if not group:
            return
        depth = min(p.count("/") for p in group)
        group = sorted(p for p in group if p.count("/") == depth)
        if len(group) > 1:  # ambiguous: the one the words found, if any
            seen = [p for p in group if p in found]
            group = [min(seen, key=lambda p: (-found[p], p))] if seen else []
        out.extend(p for p in group if p not in out)

    for mention in mentioned:
        if len(out) >= NAMED_FILES:
            break
        shared = {p: n for p in listed if (n := _shared_tail(p, mention))}
        if shared:
            most = max(shared.values())
            take([p for p, n in shared.items() if n == most])
    if package_api:
        inits = [
            p for p in listed if p.rpartition("/")[2] == "__init__.py" and not is_demoted(p, demote)
        ]
        if inits:
            depth = min(p.count("/") for p in inits)
            top = [p for p in inits if p.count("/") == depth]
            if len(top) <= 2:
                take(top)
    return tuple(out[:NAMED_FILES])


def combine(
    candidates: Sequence[Candidate],
    path_scores: Mapping[str, float],
    mentioned: Sequence[str] = (),
    recent: Mapping[str, int] | None = None,
    named: Collection[str] = (),
) -> tuple[list[Candidate], list[RankedFile]]:
    """Chunks and files, best first, from the index's candidates and path scores (both
    already carry the role, prose and definition factors); the evidence of a file the query
    names (``mentioned``, see ``tokens.mentioned_files``, or one of the paths ``named``) is
    multiplied by ``MENTIONED``, that of a file recent commits changed (``recent``: path ->
    commits) by its ``RECENT`` factor."""

    by_file: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_file.setdefault(candidate.path, []).append(candidate)
    file_score: dict[str, float] = {}
    for path, file_hits in by_file.items():
        ordered = sorted(file_hits, key=lambda c: (-c.score, c.id))
        by_file[path] = ordered
        evidence = sum(w * c.score for w, c in zip(FILE_DECAY, ordered, strict=False))
        score = evidence + PATH_WEIGHT * path_scores.get(path, 0.0)
        if path in named or (mentioned and is_mentioned(path, mentioned)):
            score *= MENTIONED
        if recent and (changes := recent.get(path, 0)) > 0:
            score *= 1.0 + RECENT * math.log1p(changes)
        file_score[path] = score
    chunks = [
        Candidate(c.id, path, _rounded((c.score + FILE_SHARE * file_score[path]) * CROWDING**n))
        for path, file_hits in by_file.items()
        for n, c in enumerate(file_hits)
    ]
    chunks.sort(key=lambda c: (-c.score, c.id))
    files = [
        RankedFile(path, _rounded(score), tuple(by_file[path]))
        for path, score in file_score.items()
    ]
    files.sort(key=lambda f: (-f.score, f.path))
    return chunks, files
