"""The command reference of ``docs/cli.md``, generated from the parser (``python -m
scripts.cli_reference`` rewrites the section; a test fails when the two differ)."""

from __future__ import annotations

import argparse
import os

BEGIN = "<!-- BEGIN GENERATED: python scripts/cli_reference.py -->"
END = "<!-- END GENERATED -->"
WIDTH = "100"


def _children(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def commands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command (leaf parser) with its path, ``ctx search``, in declaration order."""

    out: list[tuple[str, argparse.ArgumentParser]] = []

    def visit(p: argparse.ArgumentParser, path: str) -> None:
        children = _children(p)
        if not children:
            out.append((path, p))
        for name, child in children.items():
            visit(child, f"{path} {name}".strip())

    visit(parser, "")
    return out


def reference() -> str:
    """The generated section (between BEGIN and END, markers included)."""

    from trifecta.adapters.cli.parser import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH  # argparse wraps at the terminal's width
    try:
        parser = build_parser()
        parts = [BEGIN, "", "### trifecta", "", "```", parser.format_help().rstrip(), "```"]
        for path, p in commands(parser):
            text = p.format_help().partition("\nglobal options:")[0].rstrip()
            text += "\n\nglobal options: as for trifecta (above)"
            parts += ["", f"### trifecta {path}", "", "```", text, "```"]
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join([*parts, "", END])


def replace_section(document: str, section: str) -> str:
    """``document`` with its generated section replaced by ``section`` (appended if none)."""

    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < 0:
        return document.rstrip("\n") + "\n\n## Command reference\n\n" + section + "\n"
    return document[:start] + section + document[end + len(END) :]
