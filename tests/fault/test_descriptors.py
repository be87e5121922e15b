"""The embedding API over many open/use/close cycles holds no descriptor it did not hold
before, and one ``Segment`` serves many threads."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

import trifecta
from tests.fault.helpers import make_segment

CYCLES = 500


def _descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_500_open_use_close_cycles_leave_the_descriptor_count_unchanged(tmp_path: Path) -> None:
    seg_dir = make_segment(tmp_path)
    first = trifecta.open_segment(seg_dir)
    first.ctx_build()
    first.close()
    ids: tuple[str, ...] = ()
    # Earlier tests of the same process may leave objects holding descriptors in reference
    # cycles (an exception's traceback frames); collected during the loop, they would be
    # counted as this test's. Collect them first.
    gc.collect()
    before = len(_descriptors())
    for cycle in range(CYCLES):
        seg = trifecta.open_segment(seg_dir)
        kind = cycle % 5
        if kind == 0:
            hits = seg.search("helper", limit=5).hits
            ids = tuple(h.chunk.id for h in hits[:1])
        elif kind == 1 and ids:
            seg.get(ids)
        elif kind == 2:
            seg.resolve("pkg.mod:helper", no_lsp=True)
        elif kind == 3:
            seg.skeletons(["pkg/mod.py"])
        else:
            seg.ctx_validate()
        seg.close()
    assert ids
    assert len(_descriptors()) == before


def test_one_segment_serves_eight_threads(tmp_path: Path) -> None:
    seg = trifecta.open_segment(make_segment(tmp_path))
    seg.ctx_build()
    failures: list[BaseException] = []
    answers: list[int] = []

    def work() -> None:
        try:
            for _ in range(10):
                answers.append(len(seg.search("helper", limit=5).hits))
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    seg.close()
    assert failures == []
    assert len(answers) == 80 and min(answers) >= 1
