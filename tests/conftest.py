"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.telemetry_leaks import scan


# ---- telemetry: every telemetry line a test writes is checked for leaks --------------------
@pytest.fixture(autouse=True)
def _no_telemetry_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    if "tmp_path" not in request.fixturenames:
        yield
        return
    base = request.getfixturevalue("tmp_path")
    yield
    problems = scan(base)
    assert not problems, "telemetry leaked a path or the user name:\n" + "\n".join(problems[:20])
