"""``trifecta ast resolve`` and ``trifecta ast definition``.

FOUNDATION VERSION: validates the selector; resolution lands with the symbols issue.
"""

from __future__ import annotations

import argparse

from trifecta.domain.errors import TrifectaError
from trifecta.domain.selector import parse_selector


def run_resolve(ns: argparse.Namespace) -> int:
    parse_selector(ns.selector)
    raise TrifectaError("symbol resolution is not available yet")


def run_definition(ns: argparse.Namespace) -> int:
    raise TrifectaError("symbol resolution is not available yet")
