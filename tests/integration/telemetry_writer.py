"""A telemetry writer process for the concurrency and crash tests.

    python -m tests.integration.telemetry_writer SEGMENT WRITER N [--rotate B] [--lock-ms T]
        [--forever] [--pad P]

Emits N events ``cmd=test.write`` with ``writer`` and ``i`` fields (and ``tokens=i``),
increments ``test_count`` once per event and ``test_flushes`` once, then flushes. With
``--forever`` it writes until killed, printing ``ready`` after the first event.
"""

from __future__ import annotations

import argparse
import sys

from trifecta import Telemetry


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("segment")
    parser.add_argument("writer", type=int)
    parser.add_argument("n", type=int)
    parser.add_argument("--rotate", type=int, default=None)
    parser.add_argument("--lock-ms", type=int, default=None)
    parser.add_argument("--forever", action="store_true")
    parser.add_argument("--pad", type=int, default=0)
    args = parser.parse_args()
    telemetry = Telemetry(args.segment, rotate_bytes=args.rotate, lock_timeout_ms=args.lock_ms)
    pad = "p" * args.pad
    i = 0
    while args.forever or i < args.n:
        telemetry.event(
            "test.write",
            {"writer": args.writer, "pad": pad},
            {"status": "ok"},
            i % 7,
            writer=args.writer,
            i=i,
            tokens=i,
        )
        telemetry.incr("test_count")
        if i == 0 and args.forever:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
        if args.forever and i % 50 == 0:
            telemetry.flush()
        i += 1
    telemetry.incr("test_flushes")
    telemetry.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
