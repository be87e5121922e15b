"""A glob that cannot be compiled: skipped in ``.gitignore`` (git never matches it), a
one-line usage error naming the pattern in settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fault.helpers import assert_clean, cli, make_segment


def test_a_bad_gitignore_line_is_skipped_with_a_note(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    (seg / ".gitignore").write_text("[z-a]*.py\nx.py\n")
    build = cli(seg, "ctx", "build", "--json")
    assert_clean(build)
    assert build.returncode == 0, build.stderr
    report = json.loads(build.stdout)
    notes = [s for s in report["skipped"] if s["path"] == ".gitignore:1"]
    assert len(notes) == 1 and "[z-a]" in notes[0]["reason"]
    # The rest of the file still applies: x.py is ignored, pkg/mod.py is packed.
    found = json.loads(cli(seg, "ctx", "search", "-q", "x_function helper", "--json").stdout)
    assert {h["path"] for h in found["hits"]} >= {"pkg/mod.py"}
    assert "x.py" not in {h["path"] for h in found["hits"]}
    for args in (("ctx", "sync"), ("ctx", "validate"), ("ast", "skeleton", ".")):
        proc = cli(seg, *args)
        assert_clean(proc)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)


@pytest.mark.parametrize("variable", ["TRIFECTA_FILES_EXCLUDE", "TRIFECTA_FILES_INCLUDE"])
def test_a_bad_glob_in_settings_is_a_usage_error_naming_it(tmp_path: Path, variable: str) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    for args in (("ctx", "build"), ("ctx", "sync"), ("ctx", "validate")):
        proc = cli(seg, *args, env={variable: "**/*.py,[z-a].py"})
        assert_clean(proc)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1
        assert "'[z-a].py'" in proc.stderr and "reversed" in proc.stderr
    # A search lists no files (it stats the packed ones): it answers from the pack.
    search = cli(seg, "ctx", "search", "-q", "helper", env={variable: "**/*.py,[z-a].py"})
    assert_clean(search)
    assert search.returncode == 0
