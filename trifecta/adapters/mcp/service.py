"""The segment behind the MCP tools: one ``Segment`` (so the one composition root), one
worker thread that makes every call on it, a warm pyright started in the background.

- One worker thread: the SQLite connections and the use cases are made for one thread at
  a time; calls queue in arrival order.
- Builds on a thread of their own (the build tool, and the first search or get when
  there is no pack yet), one at a time, in this process (``jobs=1``: no ``fork`` while
  other threads hold locks), with progress (files done / total) at most every
  ``PROGRESS_EVERY_S``. While one runs, the other tools go on: search and get answer
  from the pack as it is, without syncing (``building: true``, ``stale`` says what moved).
- Fresh: search and get sync changed files before answering (the cheap stat check; only
  what moved is re-read), and a missing pack is built on first use.
- Warm: pyright (``lsp.mode = "process"``, owned by this process) is started by a thread
  that lives as long as the server (pyright's parent-death signal is per thread). Until it
  is initialized, symbol answers come from the index with ``fallback_reason`` ``lsp_cold``
  (``lsp_unavailable`` if it could not start); afterwards the fallback policy labels them
  as in the CLI (``lsp_not_ready`` while pyright scans).
- Every call is a telemetry event ``mcp.<tool>`` through the segment's telemetry service.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from trifecta.domain.errors import LanguageServerError, PackMissing
from trifecta.domain.records import replace

if TYPE_CHECKING:
    from trifecta.api import Segment
    from trifecta.application.packs.build import BuildProgress, BuildReport
    from trifecta.domain.model import Resolution

T = TypeVar("T")
Progress = Callable[[float, float | None, str], None]

# How long the warm-up thread waits for pyright's workspace scan.
WARM_WAIT_MS = 300_000
# The most often a build reports files done / total to the client.
PROGRESS_EVERY_S = 0.25


def segment_flags() -> dict[str, Any]:
    """The settings layer of a server: pyright in this process (it dies with the server),
    symbol calls never wait for it (the fallback answers until it is ready), and searches
    skip the per-file stat pass while the change feed reports nothing (``search.watch``)."""

    return {"lsp": {"mode": "process", "ready_timeout_ms": 0}, "search": {"watch": True}}


class SegmentService:
    """Runs every call on the segment in one worker thread; records ``mcp.<tool>`` events."""

    def __init__(self, segment: Segment, max_tokens: int, warm_lsp: bool = True) -> None:
        self.segment = segment
        self.max_tokens = max_tokens
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._worker = threading.Thread(target=self._serve, name="trifecta-mcp", daemon=True)
        self._worker.start()
        self._stop = threading.Event()
        self._closed = False
        self._build_lock = threading.Lock()  # one build at a time
        self._builds = 0  # builds running or waiting (read by the worker)
        self._count_lock = threading.Lock()
        self.lsp_state = "off"
        self.lsp_reason: str | None = None
        self.last_freshness: dict[str, Any] | None = None
        # the pack's adapters, made here once (not by two threads at the same moment)
        packs = segment.container.packs
        packs.search_index(), packs.pack_store()
        if warm_lsp and bool(segment.settings["lsp"]["enabled"]):
            self.lsp_state = "starting"
            _ = segment.container.symbols  # built here, not by two threads at once
            threading.Thread(target=self._warm, name="trifecta-mcp-lsp", daemon=True).start()

    # ---- the worker --------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as e:
                future.set_exception(e)

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future

    def submit_build(self, fn: Callable[[], T]) -> Future[T]:
        """``fn`` (a build, or a call that must build first) on a thread of its own, after
        any build before it; the worker goes on with the other calls meanwhile."""

        future: Future[T] = Future()
        with self._count_lock:
            self._builds += 1

        def run() -> None:
            result: list[T] = []
            error: list[BaseException] = []
            with self._build_lock:
                try:
                    if not future.set_running_or_notify_cancel():
                        return
                    try:
                        result.append(fn())
                    except BaseException as e:
                        error.append(e)
                finally:
                    with self._count_lock:  # before the answer: the next call sees it done
                        self._builds -= 1
            if error:
                future.set_exception(error[0])
            else:
                future.set_result(result[0])

        threading.Thread(target=run, name="trifecta-mcp-build", daemon=True).start()
        return future

    @property
    def building(self) -> bool:
        """Whether a build is running or waiting (search and get then do not sync)."""

        return self._builds > 0

    def has_pack(self) -> bool:
        return self.segment.container.packs.pack_store().stamp() is not None

    # ---- pyright -----------------------------------------------------------------------

    def _warm(self) -> None:
        try:
            self.segment.lsp_warm(0)
            self.lsp_state = "initialized"
            while not self._stop.is_set():
                if self.segment.lsp_warm(1_000):
                    self.lsp_state = "ready"
                    break
        except LanguageServerError as e:
            self.lsp_state = "unavailable"
            self.lsp_reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        except Exception as e:  # the server answers through the fallback whatever happened
            self.lsp_state = "unavailable"
            self.lsp_reason = f"{type(e).__name__}: {e}".splitlines()[0]
        # pyright's parent-death signal is this thread's: it lives until the server stops
        self._stop.wait()

    def resolve(self, ask: Callable[..., Resolution], query: str) -> Resolution:
        """``ask(query, no_lsp=...)`` with the labels of the warm-up state."""

        if self.lsp_state in ("starting", "unavailable"):
            answer = ask(query, no_lsp=True)
            reason = "lsp_cold" if self.lsp_state == "starting" else "lsp_unavailable"
            return replace(answer, fallback_reason=reason)
        return ask(query)

    # ---- packs -------------------------------------------------------------------------

    def with_pack(self, fn: Callable[[], T], progress: Progress) -> T:
        """``fn()``; if there is no pack yet, build it (with progress) and call again."""

        try:
            return fn()
        except PackMissing:
            progress(0, None, "no context pack yet: building it")
            report = self.build(False, progress)
            progress(1, 1, f"built: {report.files} files, {report.chunks} chunks")
            return fn()

    def build(self, incremental: bool, progress: Progress) -> BuildReport:
        """``Segment.ctx_build`` in this process, its progress forwarded as files done /
        total (the first and the last always, the others at most every
        ``PROGRESS_EVERY_S``)."""

        last = [0.0]

        def forward(step: BuildProgress) -> None:
            now = time.monotonic()
            if step.done in (0, step.total) or now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                progress(step.done, step.total, f"{step.done}/{step.total} files")

        return self.segment.ctx_build(incremental=incremental, progress=forward, jobs=1)

    # ---- telemetry ---------------------------------------------------------------------

    def record(
        self,
        tool: str,
        args: Mapping[str, Any],
        status: str,
        start_ns: int,
        tokens: int,
        **fields: Any,
    ) -> None:
        telemetry = self.segment.telemetry
        ms = (time.perf_counter_ns() - start_ns) // 1_000_000
        cmd = f"mcp.{tool}"
        try:
            telemetry.event(cmd, args, {"status": status}, ms, tokens=tokens, **fields)
            telemetry.observe(cmd, ms)
            telemetry.incr("mcp_call_count")
        except Exception:  # telemetry never fails a call
            return

    # ---- lifecycle ---------------------------------------------------------------------

    def close(self, timeout_s: float = 4.0) -> None:
        """Stop the worker, shut pyright down and flush telemetry (bounded wait)."""

        if self._closed:
            return
        self._closed = True
        self._stop.set()
        # closed on the worker: SQLite connections are closed by the thread that made them
        closing = self.submit(self.segment.close)
        self._jobs.put(None)
        self._worker.join(timeout_s)
        if not closing.done():  # the worker is stuck: close from here, bounded
            closer = threading.Thread(target=self.segment.close, daemon=True)
            closer.start()
            closer.join(timeout_s)
