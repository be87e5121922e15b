"""``trifecta completion SHELL`` and ``trifecta help COMMAND`` (the latter is rewritten to
``COMMAND --help`` before parsing; its handler serves a bare ``trifecta help``)."""

from __future__ import annotations

import argparse
import sys

from trifecta.adapters.cli.completion import script


def run_completion(ns: argparse.Namespace) -> int:
    from trifecta.adapters.cli.parser import build_parser

    sys.stdout.write(script(build_parser(), ns.shell))
    return 0


def run_help(ns: argparse.Namespace) -> int:
    from trifecta.adapters.cli.parser import build_parser

    build_parser().print_help()
    return 0
