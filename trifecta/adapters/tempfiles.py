"""The one naming scheme of the temporary files beside the pack and its index, and the
fault-injection hook of the build steps.

A file written aside before an atomic rename is ``_ctx/.<final name>.<pid>.tmp``. Only a
build (under the pack's exclusive lock) writes them, so whoever next holds that lock may
remove every one it finds: a process killed mid-build leaves them behind, and the next
build sweeps them (see docs/adr/0009, amendment "kills").

``TRIFECTA_FAULT_KILL_AT=<step>`` makes the process SIGKILL itself at that step of a build
(``lock-taken``, ``pack-written``, ``index-written``, ``index-committed``,
``pack-committed``): the fault-injection tests use it to kill at a chosen point instead of
at a random time. ``TRIFECTA_FAULT_STOP_AT=<step>`` stops it there instead (SIGSTOP), so a
test can run other commands against a build frozen mid-commit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

FAULT_ENV = "TRIFECTA_FAULT_KILL_AT"
PAUSE_ENV = "TRIFECTA_FAULT_STOP_AT"
_TEMP = re.compile(r"\A\..+\.\d+\.tmp\Z")


def temp_path(final: Path) -> Path:
    """Where ``final`` is written before it is renamed into place."""

    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def pending(final: Path) -> list[Path]:
    """Temporary files of ``final`` left by any process (killed ones included)."""

    prefix = f".{final.name}."
    try:
        names = os.listdir(final.parent)
    except OSError:
        return []
    return sorted(
        final.parent / n for n in names if n.startswith(prefix) and _TEMP.match(n) is not None
    )


def sweep(directory: Path) -> int:
    """Remove every temporary file of the scheme in ``directory``; call it only under the
    lock that every writer of such files holds. Returns how many were removed."""

    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        if _TEMP.match(name) is None:
            continue
        try:
            os.unlink(directory / name)
            removed += 1
        except FileNotFoundError:
            continue
        except OSError:
            continue
    return removed


def fault_point(step: str) -> None:
    """SIGKILL this process here if ``TRIFECTA_FAULT_KILL_AT`` names ``step``; SIGSTOP it
    (until a SIGCONT) if ``TRIFECTA_FAULT_STOP_AT`` does. For tests only."""

    if os.environ.get(FAULT_ENV) == step:
        import signal  # here: ~0.7 ms (its enums) that no real run needs

        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_ENV) == step:
        import signal

        os.kill(os.getpid(), signal.SIGSTOP)
