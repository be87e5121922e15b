"""The fault-injection suite: every test here carries the ``fault`` marker."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/fault/" in str(item.path):
            item.add_marker(pytest.mark.fault)
