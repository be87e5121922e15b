"""A segment on fakes with every packs use case wired, for the packs unit tests."""

from __future__ import annotations

from collections.abc import Mapping

from tests.fakes import (
    FakeBlockSkeletonParser,
    FakeChangeHistory,
    FakeClock,
    FakeFileReader,
    FakePackStore,
    FakeSearchIndex,
    FakeTelemetrySink,
)
from trifecta.application.packs.build import BuildPack
from trifecta.application.packs.get import GetChunks, GetRequest, GetResult
from trifecta.application.packs.ingest import PackSettings
from trifecta.application.packs.search import SearchPack, SearchRequest, SearchResult
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.ports import SkeletonParser


class World:
    def __init__(
        self,
        files: Mapping[str, bytes | str],
        symlinks: Mapping[str, str] | None = None,
        max_bytes: int = 100_000,
        fallback: SkeletonParser | None = None,
        history: FakeChangeHistory | None = None,
    ) -> None:
        self.reader = FakeFileReader(files, max_bytes=max_bytes, symlinks=symlinks)
        self.parser = FakeBlockSkeletonParser()
        self.store = FakePackStore()
        self.index = FakeSearchIndex()
        self.clock = FakeClock(step_ns=1_000_000)
        self.sink = FakeTelemetrySink()
        self.telemetry = TelemetryService(self.sink, self.clock, "seg-test")
        self.settings = PackSettings(include=("**/*.py", "**/*.md"), lock_timeout_ms=10)
        self.history = history
        self.builder = BuildPack(
            self.reader,
            self.parser,
            fallback,
            self.store,
            self.index,
            self.clock,
            self.telemetry,
            self.settings,
            history=history,
        )

    def build(self, incremental: bool = False) -> object:
        return self.builder.run(incremental)

    def search(self, query: str, limit: int = 5, sync: bool = False) -> SearchResult:
        use_case = SearchPack(
            self.index,
            self.store,
            self.reader,
            self.clock,
            self.telemetry,
            self.settings,
            lambda: self.builder,
            history=self.history,
        )
        return use_case.run(SearchRequest(query, limit, sync))

    def get(self, request: GetRequest) -> GetResult:
        use_case = GetChunks(
            self.index,
            self.store,
            self.reader,
            self.parser,
            None,
            self.clock,
            self.telemetry,
            self.settings,
            lambda: self.builder,
        )
        return use_case.run(request)

    def events(self, cmd: str) -> list[dict[str, object]]:
        return [e for e in self.sink.events if e["cmd"] == cmd]
