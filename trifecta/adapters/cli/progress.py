"""Build progress on a terminal: one stderr line rewritten in place (files done / total,
rate, ETA), at most ten times a second, erased when the build ends. Nothing at all when
stderr is not a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from trifecta.application.packs.build import BuildProgress

MIN_INTERVAL_S = 0.1


def progress_text(done: int, total: int, elapsed_s: float) -> str:
    """``cutting files: 512/1791 (28%), 143 files/s, ETA 9 s``."""

    share = f" ({done * 100 // total}%)" if total else ""
    text = f"cutting files: {done}/{total}{share}"
    if done and elapsed_s > 0:
        rate = done / elapsed_s
        text += f", {rate:.0f} files/s, ETA {max(0.0, (total - done) / rate):.0f} s"
    return text


class ProgressLine:
    def __init__(self, stream: TextIO, now: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._now = now
        self._last = -1.0
        self._shown = False

    def __call__(self, progress: BuildProgress) -> None:
        at = self._now()
        final = progress.done == progress.total
        if not final and at - self._last < MIN_INTERVAL_S:
            return
        self._last = at
        text = progress_text(progress.done, progress.total, progress.elapsed_s)
        self._stream.write("\r" + text + "\x1b[K")
        self._stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


def progress_line(stream: TextIO, quiet: bool) -> ProgressLine | None:
    """A progress line on ``stream`` if it is a terminal and ``quiet`` is not set."""

    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    return ProgressLine(stream) if interactive and not quiet else None
