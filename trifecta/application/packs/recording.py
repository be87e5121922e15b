"""One command event per ``ctx`` command, failures included.

Each packs use case records its own success event (with its figures); ``failure_event``
wraps the whole ``run`` so that a command that raises records exactly one event too:
``result = {"status": "error", "error": <exception class name>}``, no message (messages
can hold paths or ids; redaction would run anyway), ``tokens`` 0 (nothing was served).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.ports import Clock


@contextlib.contextmanager
def failure_event(
    telemetry: TelemetryService | None, clock: Clock, cmd: str, args: Mapping[str, Any]
) -> Iterator[None]:
    """Record ``cmd`` as failed if the body raises, then re-raise the same exception."""

    start = clock.monotonic_ns()
    try:
        yield
    except Exception as error:
        if telemetry is not None:
            elapsed = int((clock.monotonic_ns() - start) // 1_000_000)
            telemetry.event(
                cmd, args, {"status": "error", "error": type(error).__name__}, elapsed, tokens=0
            )
            telemetry.observe(cmd, elapsed)
            telemetry.incr(cmd.replace(".", "_") + "_error_count")
        raise
