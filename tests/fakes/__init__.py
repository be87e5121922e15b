"""Fakes of our own ports, one module per port (unit tests use these, never mocks).
Everything is re-exported here: ``from tests.fakes import FakeClock``."""

from __future__ import annotations

from tests.fakes.clock import FakeClock
from tests.fakes.files import FakeFileReader
from tests.fakes.language_server import FakeLanguageServer
from tests.fakes.name_index import FakeNameIndexStore
from tests.fakes.packs import FAKE_WEIGHTS, FakePackStore, FakeSearchIndex
from tests.fakes.parsers import (
    FakeBlockSkeletonParser,
    FakeSkeletonParser,
    ast_skeleton,
    skeletons_of,
)
from tests.fakes.repo import FakeChangeHistory, FakeRepoStateReader
from tests.fakes.skeleton_cache import FakeSkeletonCache
from tests.fakes.symbol_resolver import FakeSymbolResolver
from tests.fakes.telemetry import FakeTelemetrySink

__all__ = [
    "FAKE_WEIGHTS",
    "FakeBlockSkeletonParser",
    "FakeChangeHistory",
    "FakeClock",
    "FakeFileReader",
    "FakeLanguageServer",
    "FakeNameIndexStore",
    "FakePackStore",
    "FakeRepoStateReader",
    "FakeSearchIndex",
    "FakeSkeletonCache",
    "FakeSkeletonParser",
    "FakeSymbolResolver",
    "FakeTelemetrySink",
    "ast_skeleton",
    "skeletons_of",
]
