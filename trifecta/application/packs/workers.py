"""Cutting files in worker processes.

Each worker builds its own ``FileChunker`` once (a picklable factory: paths and settings,
no open handles cross the process boundary), receives tasks by value in batches and sends
back ``ChunkOutcome`` values (the index documents). Outcomes come back in task order, so a
parallel build gives the same pack as a serial one. ``jobs <= 1``, or too few files to pay
for starting processes, runs in this process.

The collector is tuned for the build: objects alive at the start are frozen (never
scanned again) and the automatic collector is paused while files are cut; the build makes
almost no reference cycles, and a collection after every batch of allocations was over a
third of a serial build's time (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from trifecta.application.packs.ingest import ChunkOutcome, ChunkTask, FileChunker

if TYPE_CHECKING:
    import multiprocessing.context

ChunkerFactory = Callable[[], FileChunker]
BATCH = 8  # files per task sent to a worker
MIN_PER_WORKER = 16  # below this many files per worker, cut in this process

_chunker: FileChunker | None = None


def default_jobs() -> int:
    """All the cores this process may run on."""

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def tuned_gc() -> Iterator[None]:
    """Freeze what exists, pause the automatic collector; restore both afterwards."""

    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()


def _init_worker(factory: ChunkerFactory) -> None:
    global _chunker
    gc.freeze()
    gc.disable()
    _chunker = factory()


def _run_batch(tasks: Sequence[ChunkTask]) -> list[ChunkOutcome]:
    assert _chunker is not None
    return [_chunker.run(task) for task in tasks]


def _context() -> multiprocessing.context.BaseContext:
    # fork: workers start in milliseconds and inherit the imported modules; elsewhere the
    # factory is pickled to freshly spawned interpreters. Imported here: a sync of a few
    # files runs in this process and never pays for the multiprocessing modules.
    import multiprocessing

    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def cut_files(
    tasks: Sequence[ChunkTask], factory: ChunkerFactory, jobs: int
) -> Iterator[ChunkOutcome]:
    """The outcome of every task, in task order."""

    workers = min(jobs, len(tasks) // MIN_PER_WORKER)
    if workers <= 1:
        chunker = factory()
        try:
            for task in tasks:
                yield chunker.run(task)
        finally:
            chunker.close()
        return
    from concurrent.futures import ProcessPoolExecutor

    batches = [tasks[i : i + BATCH] for i in range(0, len(tasks), BATCH)]
    with ProcessPoolExecutor(
        workers, mp_context=_context(), initializer=_init_worker, initargs=(factory,)
    ) as pool:
        for outcomes in pool.map(_run_batch, batches):
            yield from outcomes
