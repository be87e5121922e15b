"""Startup cost of the CLI: `trifecta --version` and `--help` vs `python -c pass`.

Prints JSON. Medians of N runs of each, interleaved in the same run, and their ratios.
Usage: python -m bench.startup [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench._common import emit, median_ms, time_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    baseline = [sys.executable, "-c", "pass"]
    exe = str(Path(sys.executable).parent / "trifecta")
    version = [exe, "--version"]
    help_ = [exe, "--help"]
    base_ms = median_ms(time_process(baseline, args.repeat))
    version_ms = median_ms(time_process(version, args.repeat))
    help_ms = median_ms(time_process(help_, args.repeat))
    emit(
        {
            "benchmark": "startup",
            "repeat": args.repeat,
            "python_pass_median_ms": base_ms,
            "version_median_ms": version_ms,
            "help_median_ms": help_ms,
            "version_ratio": round(version_ms / base_ms, 2),
            "help_ratio": round(help_ms / base_ms, 2),
            "version_budget_ratio": 3.0,
        }
    )


if __name__ == "__main__":
    main()
