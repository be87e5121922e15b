"""Rewrite the generated command reference at the end of docs/cli.md from the parser.

Usage: python scripts/cli_reference.py [--check]   (--check: exit 1 if it is out of date)
"""

from __future__ import annotations

import sys
from pathlib import Path

from trifecta.adapters.cli.reference import reference, replace_section

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def main() -> int:
    current = DOC.read_text(encoding="utf-8")
    wanted = replace_section(current, reference())
    if "--check" in sys.argv[1:]:
        if wanted != current:
            sys.stderr.write(
                "docs/cli.md: the command reference is out of date; run "
                "python scripts/cli_reference.py\n"
            )
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
