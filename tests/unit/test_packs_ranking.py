"""The ranking policy on top of BM25: roles, definitions, evidence per file, query words."""

from __future__ import annotations

import math

from trifecta.application.packs.ranking import (
    ABOUT_TESTS_DEMOTE,
    DEFINES,
    DEMOTE,
    FILE_SHARE,
    MENTIONED,
    RECENT,
    combine,
    defined_name,
    is_demoted,
    named_paths,
    query_names,
    ranking_for,
)
from trifecta.application.packs.tokens import (
    about_package_api,
    mentioned_files,
    path_terms,
    query_terms,
)
from trifecta.domain.packs import Candidate


def _hit(chunk_id: str, score: float) -> Candidate:
    return Candidate(chunk_id, chunk_id.partition("#")[0], score)


def test_tests_examples_and_vendored_code_are_demoted_by_path_component() -> None:
    for path in (
        "tests/test_api.py",
        "src/pkg/test/util.py",
        "pkg/test_models.py",
        "pkg/models_test.py",
        "conftest.py",
        "examples/app.py",
        "requests/packages/urllib3/poolmanager.py",
        "pkg/_vendor/six.py",
        "third_party/x/y.py",
        "CHANGELOG.md",
        "docs/Changes.md",
        "jinja2/testsuite/api.py",
        "tools/make_emoji.py",
        "scripts/release/bump.py",
        "setup.py",
        "noxfile.py",
        "docs/conf.py",
    ):
        assert is_demoted(path), path
    for path in (
        "src/pkg/testing_utils_not.py",
        "pkg/contest.py",
        "pkg/latest.py",
        "a/b.py",
        "pkg/history.py",
        "pkg/newsletter.py",
        "src/pkg/tools/helpers.py",  # a package's own tools/ is product code
        "pkg/scripts/run.py",
        "pkg/setup.py",
        "docs/guide.md",
    ):
        assert not is_demoted(path), path
    assert is_demoted("gen/x.py", ("gen/*",)) and not is_demoted("src/gen.py", ("gen/*",))


def test_a_query_about_tests_demotes_them_less() -> None:
    assert ranking_for("x", query_terms("response pickle")).demote == DEMOTE
    about_tests = ranking_for("x", query_terms("tests for the pickle"))
    assert about_tests.demote == ABOUT_TESTS_DEMOTE > DEMOTE


def test_definitions_are_named_by_their_last_part_and_modules_by_their_file() -> None:
    assert defined_name("method", "ZipFile.writestr") == "writestr"
    assert defined_name("module", "pkg.http.server") == "server"
    assert defined_name("section", "Installation") == ""
    names = query_names("ZipFile.writestr extractall filter", query_terms("x"))
    assert names == ()  # only words that survived as search terms count
    query = "ZipFile.writestr extractall filter"
    assert query_names(query, query_terms(query)) == ("zipfile", "writestr", "extractall", "filter")
    assert ranking_for(query, query_terms(query)).defines == DEFINES


def test_task_sentences_lose_their_verbs_and_contractions_identifier_queries_keep_them() -> None:
    assert query_terms("Don't pickle request/response extensions") == [
        "pickle",
        "request",
        "response",
        "extensions",
    ]
    assert query_terms("Fix handling of closing callbacks") == ["closing", "callbacks"]
    assert query_terms("update") == ["update"]
    assert query_terms("OrderedDict update") == ["ordereddict", "ordered", "dict", "update"]
    assert query_terms("the") == ["the"]  # nothing else left: kept


def test_path_words_drop_the_extension() -> None:
    assert path_terms("pkg/http/server.py") == "pkg http server"
    assert path_terms("docs/adr/0009-pack.md") == "docs adr 0009 pack"
    assert path_terms(".gitignore") == "gitignore"


def test_words_spread_over_one_file_add_up_above_one_strong_chunk_elsewhere() -> None:
    hits = [
        _hit("other.py#strong", 9.0),
        _hit("main.py#a", 6.0),
        _hit("main.py#b", 5.0),
        _hit("main.py#c", 4.0),
    ]
    chunks, files = combine(hits, {})
    assert [f.path for f in files] == ["main.py", "other.py"]
    assert files[0].score == 6.0 + 0.5 * 5.0 + 0.25 * 4.0
    assert [h.id for h in files[0].hits] == ["main.py#a", "main.py#b", "main.py#c"]
    # Each chunk carries a share of its file's evidence, so the file's chunks rise together.
    by_id = {h.id: h.score for h in chunks}
    assert by_id["main.py#a"] == 6.0 + FILE_SHARE * 9.5
    assert by_id["other.py#strong"] == 9.0 + FILE_SHARE * 9.0


def test_path_words_count_once_per_file() -> None:
    hits = [_hit("a/x.py#f", 2.0), _hit("a/x.py#g", 2.0), _hit("b/y.py#h", 3.0)]
    _, files = combine(hits, {"b/y.py": 2.0})
    assert {f.path: f.score for f in files} == {"a/x.py": 3.0, "b/y.py": 5.0}


def test_equal_scores_break_ties_by_id_and_path() -> None:
    hits = [_hit("b.py#f", 1.0), _hit("a.py#f", 1.0)]
    chunks, files = combine(hits, {})
    assert [h.id for h in chunks] == ["a.py#f", "b.py#f"]
    assert [f.path for f in files] == ["a.py", "b.py"]


def test_task_words_are_kept_on_request() -> None:
    assert query_terms("Add async support") == ["async"]
    assert query_terms("Add async support", task_words=True) == ["add", "async", "support"]


def test_a_file_the_query_names_is_its_subject_not_a_word_of_it() -> None:
    query = "Removing ParameterSource from __init__.py"
    assert mentioned_files(query) == ("__init__.py",)
    assert mentioned_files("fix src/pkg/App.py and README.md") == ("src/pkg/app.py", "readme.md")
    assert mentioned_files("os.path.join in version 1.2") == ()
    # The extension is no search word; a dunder file name defines no name (every class
    # has an __init__), a plain one names its module.
    assert "py" not in query_terms(query)
    assert query_names(query, query_terms(query)) == ("removing", "parametersource")
    sentence = "fix a crash in utils.py"
    assert query_names(sentence, query_terms(sentence)) == ("crash", "utils")
    init = "Fix Foo.__init__ signature in __init__.py"  # the method keeps its name
    assert query_names(init, query_terms(init)) == ("foo", "__init__", "signature")
    # A dotted name that goes on or is called is no file; a data file keeps its extension
    # as a word (``Response.json`` is a method before it is a file).
    for query in ("Mark Response.json() as Any", "flask.json.dumps sort keys"):
        assert mentioned_files(query) == () and "json" in query_terms(query)
    assert mentioned_files("update setup.cfg metadata") == ("setup.cfg",)
    assert "cfg" in query_terms("update setup.cfg metadata")
    assert mentioned_files("Fix a bug in app.py.") == ("app.py",)


def test_the_evidence_of_a_named_file_counts_more() -> None:
    hits = [
        _hit("pkg/core.py#f", 4.0),
        _hit("pkg/__init__.py", 3.0),
        _hit("other/__init__.py", 3.0),
    ]
    _, files = combine(hits, {}, mentioned=("pkg/__init__.py",))
    assert {f.path: f.score for f in files} == {
        "pkg/__init__.py": 3.0 * MENTIONED,
        "pkg/core.py": 4.0,
        "other/__init__.py": 3.0,
    }
    _, by_name = combine(hits, {}, mentioned=("__init__.py",))
    assert [f.path for f in by_name] == ["other/__init__.py", "pkg/__init__.py", "pkg/core.py"]
    # A longer path than the segment's (the segment is a subdirectory; an absolute path).
    _, longer = combine(hits, {}, mentioned=("home/u/repo/src/pkg/core.py",))
    assert longer[0].path == "pkg/core.py" and longer[0].score == 4.0 * MENTIONED


def test_the_evidence_of_a_file_recent_commits_changed_counts_more() -> None:
    hits = [_hit("a.py#f", 4.0), _hit("b.py#f", 4.0), _hit("c.py#f", 4.0)]
    _, files = combine(hits, {}, recent={"b.py": 3, "c.py": 0, "elsewhere.py": 9})
    assert [f.path for f in files] == ["b.py", "a.py", "c.py"]
    assert files[0].score == round(4.0 * (1 + RECENT * math.log(4)), 4)
    assert files[1].score == files[2].score == 4.0


def test_a_query_about_the_top_level_names_or_public_api_is_about_the_package() -> None:
    for query in (
        "mark top-level names as exported",
        "Add exceptions missing from top level package",
        "Tighten up the public API",
        "Re-export Response from the package",
        "add want_bytes to `__all__`",
    ):
        assert about_package_api(query), query
    for query in (
        "Add support for SVG exports",
        "export the table as CSV",
        "level of logging",
        "Support top-level await in the REPL",
        "Allow top-level keys in the config file",
        "Create the top-level directory",
        "Fix exported environment variables",
        "Mask the public API key in logs",
    ):
        assert not about_package_api(query), query
    for query in (
        "Fix import error in the package loader",
        "export PATH in the package script",
        "Expose the metrics port in the package's Dockerfile",
        "Fix the top-level api call timeout",
    ):
        assert not about_package_api(query), query
    for query in ("Export Response from the package", "Expose Response at package level"):
        assert about_package_api(query), query


def test_a_windows_path_names_the_same_file() -> None:
    assert mentioned_files(r"fix src\flask\app.py") == ("src/flask/app.py",)
    assert mentioned_files(r"C:\proj\src\flask\app.py") == ("proj/src/flask/app.py",)
    assert "py" not in query_terms(r"fix src\flask\app.py")


def test_the_files_a_query_names_are_the_shallowest_code_it_matches() -> None:
    paths = [
        "src/pkg/__init__.py",
        "src/pkg/sub/__init__.py",
        "src/pkg/utils.py",
        "src/pkg/sub/utils.py",
        "tests/__init__.py",
        "tests/utils.py",
    ]
    assert named_paths(("utils.py",), False, paths) == ("src/pkg/utils.py",)
    assert named_paths(("sub/utils.py",), False, paths) == ("src/pkg/sub/utils.py",)
    assert named_paths(("tests/utils.py",), False, paths) == ("tests/utils.py",)
    assert named_paths((), True, paths) == ("src/pkg/__init__.py",)  # not tests/
    assert named_paths(("utils.py",), True, paths, demote=()) == (
        "tests/utils.py",
        "tests/__init__.py",
    )
    assert named_paths(("nothing.py",), False, paths) == ()
    four = ["a.py", "b.py", "c.py", "d.py"]
    assert named_paths(tuple(four), False, four) == ("a.py", "b.py", "c.py")


def test_a_longer_mention_names_the_file_it_spells_out_not_a_shallower_namesake() -> None:
    paths = ["app.py", "src/flask/app.py", "src/other/app.py"]
    assert named_paths(("src/flask/app.py",), False, paths) == ("src/flask/app.py",)
    absolute = "home/me/proj/src/flask/app.py"  # mentioned_files drops the leading /
    assert named_paths((absolute,), False, paths) == ("src/flask/app.py",)
    assert named_paths(("app.py",), False, paths) == ("app.py",)
    assert named_paths(("flask/app.py",), False, ["src/Flask/App.py"]) == ("src/Flask/App.py",)


def test_several_packages_side_by_side_are_no_top_level_package() -> None:
    apps = ["accounts/__init__.py", "blog/__init__.py", "core/__init__.py", "x/y/__init__.py"]
    assert named_paths((), True, apps) == ()
    pair = ["src/attr/__init__.py", "src/attrs/__init__.py"]
    assert named_paths((), True, pair) == ()  # which one? the words did not say
    assert named_paths((), True, pair, scores={"src/attrs/__init__.py": 2.0}) == (
        "src/attrs/__init__.py",
    )


def test_a_name_several_files_share_is_the_one_the_words_found_or_none() -> None:
    paths = ["a/__init__.py", "b/__init__.py", "shop/__init__.py", "shop/cart.py"]
    assert named_paths(("__init__.py",), False, paths) == ()
    found = {"shop/__init__.py": 1.5, "b/__init__.py": 0.5, "shop/cart.py": 9.0}
    assert named_paths(("__init__.py",), False, paths, scores=found) == ("shop/__init__.py",)
    # the later mentions still count when an earlier one is ambiguous
    assert named_paths(("__init__.py", "cart.py"), False, paths) == ("shop/cart.py",)


def test_in_a_query_about_tests_a_named_test_file_is_not_passed_over() -> None:
    paths = ["src/pkg/helpers.py", "tests/helpers.py"]
    assert named_paths(("helpers.py",), False, paths) == ("src/pkg/helpers.py",)
    assert named_paths(("helpers.py",), False, paths, about_tests=True) == ("tests/helpers.py",)


def test_a_named_path_counts_as_mentioned_by_itself_only() -> None:
    hits = [_hit("__init__.py#a", 1.0), _hit("sub/__init__.py#b", 1.0)]
    _, files = combine(hits, {}, named=("__init__.py",))
    assert {f.path: f.score for f in files} == {"__init__.py": MENTIONED, "sub/__init__.py": 1.0}
