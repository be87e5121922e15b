"""Seed E.1 requirements for the AST events (the LSP ones live with the LSP work)."""

from __future__ import annotations

import json

from tests.fakes import (
    FakeClock,
    FakeFileReader,
    FakeSkeletonCache,
    FakeSkeletonParser,
    FakeTelemetrySink,
)
from trifecta.application.skeletons.use_cases import ExtractSkeleton, ExtractSkeletons
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.model import Skeleton


class SlowParser(FakeSkeletonParser):
    """Takes 12 ms of (fake) monotonic time per parse."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__("ast")
        self.clock = clock

    def parse(self, source: str, path: str) -> Skeleton:
        self.clock.advance(12)
        return super().parse(source, path)


def build(files: dict[str, bytes | str]) -> tuple[ExtractSkeletons, FakeTelemetrySink, FakeClock]:
    clock = FakeClock()
    sink = FakeTelemetrySink()
    telemetry = TelemetryService(sink, clock, "seg-1")
    reader = FakeFileReader(files)
    extract = ExtractSkeleton(
        reader,
        SlowParser(clock),
        FakeSkeletonParser("tree_sitter", strict=False),
        FakeSkeletonCache(),
        clock,
        telemetry,
    )
    return ExtractSkeletons(reader, extract, clock, telemetry), sink, clock


def test_ast_event_uses_monotonic_clock() -> None:
    batch, sink, clock = build({"pkg/mod.py": "def f\n"})
    before = clock.monotonic_ns()
    batch.execute(["pkg/mod.py"])
    (parse,) = [e for e in sink.events if e["cmd"] == "ast.parse"]
    assert parse["timing_ms"] == 12  # the injected clock's 12 ms, not a constant
    assert parse["timing_us"] == 12_000
    (command,) = [e for e in sink.events if e["cmd"] == "ast.skeleton"]
    assert command["timing_ms"] >= parse["timing_ms"]
    assert clock.monotonic_ns() >= before  # no backwards jumps


def test_ast_event_redacts_absolute_path() -> None:
    batch, sink, _ = build({"pkg/mod.py": "def f\n"})
    batch.execute(["./pkg/mod.py", "/Users/alice/secret/project.py", "/home/bob/x.py"])
    dumped = json.dumps(sink.events)
    assert "/Users/" not in dumped and "/home/" not in dumped and "alice" not in dumped
    (parse,) = [e for e in sink.events if e["cmd"] == "ast.parse"]
    assert parse["file_path_rel"] == "pkg/mod.py"
    (command,) = [e for e in sink.events if e["cmd"] == "ast.skeleton"]
    assert command["warnings"] == [
        "<path outside the segment>: PathOutsideSegment",
        "<path outside the segment>: PathOutsideSegment",
    ]
