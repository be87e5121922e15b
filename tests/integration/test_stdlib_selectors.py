"""Acceptance: selectors for every class, function and method of 3 standard-library
packages resolve to the line ``ast`` reports, by pyright and by the fallback (>= 99 %)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.symbols import Rig, ast_targets, copy_packages, selector_agreement

PACKAGES = ("json", "email", "logging")


@pytest.fixture(scope="module")
def stdlib_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rig, Path]]:
    root = tmp_path_factory.mktemp("stdlib") / "seg"
    copy_packages(root, PACKAGES)
    rig = Rig(root)
    yield rig, root
    rig.close()


def test_fallback_resolves_every_definition_to_the_ast_line(
    stdlib_rig: tuple[Rig, Path],
) -> None:
    rig, root = stdlib_rig
    targets = ast_targets(root)
    assert len(targets) > 500
    report = selector_agreement(rig, targets, use_lsp=False)
    assert report["share"] >= 0.99, report


def test_pyright_resolves_every_definition_to_the_ast_line(stdlib_rig: tuple[Rig, Path]) -> None:
    rig, root = stdlib_rig
    targets = ast_targets(root)
    report = selector_agreement(rig, targets, use_lsp=True)
    assert report["answered_by_lsp"] >= 0.99 * len(targets), report
    assert report["share"] >= 0.99, report
