"""Identifier-aware tokenisation."""

from __future__ import annotations

import pytest

from trifecta.application.packs.tokens import (
    code_words,
    index_terms,
    query_terms,
    search_terms,
    tokenize,
    version_terms,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ContextService", ["contextservice", "context", "service"]),
        (
            "resolve_segment_state",
            ["resolve_segment_state", "resolve", "segment", "state"],
        ),
        ("os.path.join", ["os", "path", "join"]),
        ("HTTPServer2", ["httpserver2", "http", "server", "2"]),
        ("getURLFor", ["geturlfor", "get", "url", "for"]),
        ("__init__", ["init"]),
        ("x", ["x"]),
    ],
)
def test_identifiers_split_and_keep_the_whole(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_repeats_are_kept_for_term_frequency() -> None:
    assert tokenize("run run_fast") == ["run", "run_fast", "run", "fast"]


def test_query_terms_are_distinct_and_drop_stopwords() -> None:
    assert query_terms("the ContextService of context") == ["contextservice", "context", "service"]
    assert query_terms("the") == ["the"]
    assert query_terms("!!!") == []


def test_non_ascii_words_are_tokens() -> None:
    assert tokenize("Größe café_au_lait") == ["größe", "café_au_lait", "café", "au", "lait"]


def test_index_terms_is_the_token_stream_joined() -> None:
    # index_terms looks words up in a cache: what it stores must stay tokenize()'s stream,
    # words without tokens ("_", "__") leaving no gap, repeats and non-ASCII kept.
    text = "def __init__(self, HTTPServer2):\n    _ = getURLFor(x_y) + __ + naïve_Name # Résumé"
    assert index_terms(text) == (
        "def init self httpserver2 http server 2 geturlfor get url for x_y x y "
        "naïve_name naïve name résumé"
    )
    assert index_terms(text + " " + text) == " ".join(tokenize(text + " " + text))
    assert index_terms("_ __ ___") == ""


def test_index_terms_ascii_text_has_the_same_words_as_unicode_text() -> None:
    # ASCII text takes a narrower word pattern: every ASCII character class at a word's
    # edge (digits, "_", punctuation, control characters) must split as \w does.
    ascii_text = "".join(chr(i) for i in range(128)) + " a1_B2 __x__ 9z\tq\x00w"
    assert ascii_text.isascii()
    assert index_terms(ascii_text) == " ".join(tokenize(ascii_text))
    assert index_terms(ascii_text + " é") == " ".join(tokenize(ascii_text + " é"))


def test_words_written_as_code_are_never_stopwords_or_task_words() -> None:
    # "all", "about" and "show" read as English, but __all__, `__about__` and `show` are names
    assert "all" in query_terms("Add the parser to __all__")
    assert "about" in query_terms("Remove `__about__` in favour of constants")
    assert "show" in query_terms("Add `show` option to the command")
    assert "show" not in query_terms("Add show option to the command")  # a task word
    assert "all" not in query_terms("check all the parsers")  # a stopword
    assert code_words("Use `getValue` and `x_y` in `show`") == {"getvalue", "x_y", "show"}


def test_keywords_in_a_code_span_are_not_names() -> None:
    assert "from" not in query_terms("Make `from attr import *` work again")
    assert code_words("`from typing import Any`") == {"typing", "any"}
    assert code_words("Support `match` and `case` blocks") == set()  # soft keywords
    assert code_words("an unbalanced ` backtick") == set()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Drop support for Python 3.8", ["version_info", "py38", "py3"]),
        ("Compat for Python<3.5.3", ["version_info", "py35", "py3"]),
        ("Removed legacy fallback for python3.2", ["version_info", "py32", "py3"]),
        ("sandbox uses xrange on Python 2", ["version_info", "py2"]),
        ("Add back --py36 as a deprecated option", ["version_info", "py36", "py3"]),
        ("make the example py3 compliant.", ["version_info", "py3"]),
        ("support Python 3.12", ["version_info", "py312", "py3"]),
        ("CPython 3.12 only", ["version_info", "py312", "py3"]),
        ("Python-3.8 and Python v3.9", ["version_info", "py38", "py3", "py39"]),
        # not versions: a tool, a module, a word that starts like one
        ("run py.test on CI", []),
        ("build with py2exe", []),
        ("Fix pypy3 wheels", []),
        ("python packaging metadata", []),
        ("python-dateutil 2.9", []),
    ],
)
def test_a_python_version_names_the_code_that_checks_it(query: str, expected: list[str]) -> None:
    assert version_terms(query) == expected


def test_a_search_looks_for_version_terms_after_the_words_of_the_query() -> None:
    assert query_terms("Drop support for Python 3.8") == ["drop", "python"]  # get's evidence
    assert search_terms("Drop support for Python 3.8") == [
        "drop",
        "python",
        "version_info",
        "py38",
        "py3",
    ]
    # a version constant the query writes itself is not repeated
    assert search_terms("Add --py36 flag") == ["py36", "py", "36", "flag", "version_info", "py3"]
