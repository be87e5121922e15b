"""ExtractSkeleton, ExtractSkeletons and SelectModuleSymbols on fakes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import (
    FakeClock,
    FakeFileReader,
    FakeSkeletonCache,
    FakeSkeletonParser,
    FakeTelemetrySink,
)
from trifecta.application.skeletons.use_cases import (
    ExtractSkeleton,
    ExtractSkeletons,
    SelectModuleSymbols,
    SkeletonFailure,
    SkeletonResult,
)
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import FileMissing, NotPython, PathOutsideSegment, SymbolNotFound
from trifecta.domain.model import ReadMode, Selector
from trifecta.domain.selector import module_candidates

GOOD = "class Message\n    def get_payload\n    class Inner\n        def x\ndef helper\n"
BROKEN = "class Message\n!error\ndef helper\n"


class World:
    def __init__(self, files: dict[str, bytes | str], cache: bool = True) -> None:
        self.reader = FakeFileReader(files, max_bytes=1000, symlinks={"esc.py": "../x.py"})
        self.primary = FakeSkeletonParser("ast", strict=True, version="1")
        self.fallback = FakeSkeletonParser("tree_sitter", strict=False, version="7")
        self.cache = FakeSkeletonCache() if cache else None
        self.clock = FakeClock(step_ns=250_000)  # every reading moves 0.25 ms
        self.sink = FakeTelemetrySink()
        self.telemetry = TelemetryService(self.sink, self.clock, "seg-1234")
        self.extract = ExtractSkeleton(
            self.reader, self.primary, self.fallback, self.cache, self.clock, self.telemetry
        )

    def events(self, cmd: str) -> list[dict[str, Any]]:
        return [e for e in self.sink.events if e["cmd"] == cmd]


def test_miss_then_hit_with_telemetry_and_counters() -> None:
    world = World({"pkg/mod.py": GOOD})
    first = world.extract.execute("pkg/mod.py")
    second = world.extract.execute("pkg/mod.py")
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert first.skeleton == second.skeleton
    assert world.primary.parsed == ["pkg/mod.py"]  # parsed once
    assert world.telemetry.metrics == {
        "ast_cache_miss_count": 1,
        "ast_parse_count": 1,
        "ast_cache_hit_count": 1,
    }
    (parse,) = world.events("ast.parse")
    assert parse["file_path_rel"] == "pkg/mod.py"
    assert parse["result"]["functions"] == 3 and parse["result"]["classes"] == 2
    assert parse["skeleton_bytes"] == first.skeleton_bytes == len(first.rendered.encode())
    assert parse["reduction_ratio"] == first.reduction_ratio
    assert parse["timing_ms"] >= 1  # the fake clock moved: a real duration, not a constant
    assert parse["skeleton_tokens"] == (len(first.rendered) + 3) // 4
    # served tokens are counted once, on the command's event, never on internal ones
    assert parse["tokens"] == 0
    assert all(e["tokens"] == 0 for e in world.events("ast.cache"))
    assert [e["cache_hit"] for e in world.events("ast.cache")] == [False, True]
    assert world.reader.bytes_read()[ReadMode.SKELETON] == 2 * len(GOOD)


def test_edited_file_is_a_miss_and_broken_content_is_never_a_good_hit() -> None:
    world = World({"m.py": GOOD})
    good = world.extract.execute("m.py")
    world.reader.write("m.py", BROKEN)
    broken = world.extract.execute("m.py")
    assert not broken.cache_hit
    assert broken.skeleton.partial and broken.skeleton.parser == "tree_sitter"
    again = world.extract.execute("m.py")  # the partial skeleton, from the cache: still partial
    assert again.cache_hit and again.skeleton.partial
    assert again.skeleton.parser == "tree_sitter"
    assert not good.skeleton.partial
    # ast is tried again on the broken content (ParseFailed is never cached); Tree-sitter is
    # not: its partial skeleton came from the cache.
    assert world.primary.parsed == ["m.py", "m.py", "m.py"]
    assert world.fallback.parsed == ["m.py"]
    assert world.events("ast.parse")[-1]["warnings"] == ["m.py: partial skeleton"]


def test_same_content_at_another_path_hits_with_its_own_path() -> None:
    world = World({"a.py": GOOD, "b.py": GOOD})
    world.extract.execute("a.py")
    other = world.extract.execute("b.py")
    assert other.cache_hit and other.skeleton.path == "b.py"


def test_parser_version_is_part_of_the_key() -> None:
    world = World({"m.py": GOOD})
    world.extract.execute("m.py")
    world.primary._version = "2"
    assert not world.extract.execute("m.py").cache_hit


def test_works_without_a_cache() -> None:
    world = World({"m.py": GOOD}, cache=False)
    assert not world.extract.execute("m.py").cache_hit
    assert not world.extract.execute("m.py").cache_hit


def test_lossy_files_are_flagged() -> None:
    world = World({"latin.py": "def caf\u00e9\n".encode("latin-1")})
    result = world.extract.execute("latin.py")
    assert result.skeleton.lossy
    assert result.rendered.startswith("# lossy")


def test_batch_reports_each_failure_and_serves_the_rest() -> None:
    world = World(
        {"pkg/a.py": GOOD, "pkg/sub/b.py": GOOD, "pkg/notes.md": "# x", "bin.py": b"\x00\x01"}
    )
    batch = ExtractSkeletons(world.reader, world.extract, world.clock, world.telemetry).execute(
        ["pkg", "missing.py", "esc.py", "bin.py"]
    )
    assert [r.path for r in batch.results] == ["pkg/a.py", "pkg/sub/b.py"]
    failures = {f.path: f for f in batch.failures}
    assert failures["missing.py"].error == "FileMissing"
    assert failures["esc.py"].error == "PathOutsideSegment"
    assert failures["bin.py"].error == "BinaryFile"
    assert all(f.exit_code == 1 for f in failures.values())
    assert [type(i) for i in batch.items] == [
        SkeletonResult,
        SkeletonResult,
        SkeletonFailure,
        SkeletonFailure,
        SkeletonFailure,
    ]
    (event,) = world.events("ast.skeleton")
    assert event["result"]["files"] == 2 and event["result"]["failed"] == 3
    assert event["tokens"] == sum((len(r.rendered) + 3) // 4 for r in batch.results)
    assert event["warnings"] == [
        "missing.py: FileMissing",
        "<path outside the segment>: PathOutsideSegment",
        "bin.py: BinaryFile",
    ]


def test_module_candidates() -> None:
    assert module_candidates("pkg.mod") == [
        "pkg/mod.py",
        "pkg/mod/__init__.py",
        "src/pkg/mod.py",
        "src/pkg/mod/__init__.py",
    ]


def test_module_symbols_select_a_member_and_its_children() -> None:
    world = World({"src/pkg/mod/__init__.py": GOOD})
    select = SelectModuleSymbols(world.reader, world.extract, world.clock, world.telemetry)
    whole = select.execute(Selector("pkg.mod"))
    assert len(whole.skeleton.entries) == 5
    member = select.execute(Selector("pkg.mod", "Message.Inner"))
    assert [e.qualname for e in member.skeleton.entries] == ["Message.Inner", "Message.Inner.x"]
    assert [e.depth for e in member.skeleton.entries] == [0, 1]
    with pytest.raises(SymbolNotFound):
        select.execute(Selector("pkg.mod", "Nope"))
    with pytest.raises(FileMissing, match="not found in the segment"):
        select.execute(Selector("pkg.other"))
    events = world.events("ast.symbols")
    assert [e["result"].get("error") for e in events] == [
        None,
        None,
        "SymbolNotFound",
        "FileMissing",
    ]
    assert events[1]["result"]["symbols"] == 2 and events[1]["tokens"] > 0


def test_outside_path_is_refused_by_the_reader() -> None:
    world = World({"m.py": GOOD})
    with pytest.raises(PathOutsideSegment):
        world.extract.execute("esc.py")


class VersionWatchingParser(FakeSkeletonParser):
    """A fallback that notes when its version is read (the real one loads tree_sitter)."""

    def __init__(self) -> None:
        super().__init__("tree_sitter", strict=False, version="9")
        self.version_reads = 0

    @property
    def version(self) -> str:
        self.version_reads += 1
        return "9"


def test_fallback_is_not_touched_for_files_the_primary_parses() -> None:
    world = World({"m.py": GOOD})
    watcher = VersionWatchingParser()
    extract = ExtractSkeleton(
        world.reader, world.primary, watcher, world.cache, world.clock, world.telemetry
    )
    extract.execute("m.py")
    extract.execute("m.py")
    assert watcher.version_reads == 0 and watcher.parsed == []


# ---- directories and refusals (fixb) -------------------------------------------------------


def batch_of(reader: FakeFileReader, paths: list[str]) -> tuple[Any, World]:
    world = World({})
    world.reader = reader
    world.extract = ExtractSkeleton(
        reader, world.primary, world.fallback, world.cache, world.clock, world.telemetry
    )
    batch = ExtractSkeletons(reader, world.extract, world.clock, world.telemetry).execute(paths)
    return batch, world


def test_refused_files_in_a_directory_are_failures_with_a_reason() -> None:
    reader = FakeFileReader(
        {"d1/big.py": "x" * 2000}, max_bytes=1000, symlinks={"d1/esc.py": "../outside.py"}
    )
    batch, world = batch_of(reader, ["d1"])
    assert not batch.results and not batch.single_file
    assert [(f.path, f.error, f.exit_code) for f in batch.failures] == [
        ("d1/big.py", "FileRefused", 1),
        ("d1/esc.py", "FileRefused", 1),
    ]
    for failure in batch.failures:
        assert failure.reason.startswith(failure.path + ": ") and "\n" not in failure.reason
    assert "size cap" in batch.failures[0].reason
    assert "leaves the segment" in batch.failures[1].reason
    (event,) = world.events("ast.skeleton")
    assert event["result"]["failed"] == 2


def test_a_mixed_directory_keeps_refusals_in_path_order() -> None:
    reader = FakeFileReader(
        {"d/a.py": GOOD, "d/big.py": "x" * 2000, "d/c.py": GOOD},
        max_bytes=1000,
        symlinks={"d/b.py": "../outside.py"},
    )
    batch, _ = batch_of(reader, ["d"])
    assert [(type(i).__name__, i.path) for i in batch.items] == [
        ("SkeletonResult", "d/a.py"),
        ("SkeletonFailure", "d/b.py"),
        ("SkeletonFailure", "d/big.py"),
        ("SkeletonResult", "d/c.py"),
    ]


def test_refusals_outside_the_directory_are_not_reported() -> None:
    reader = FakeFileReader({"d/a.py": GOOD, "other/big.py": "x" * 2000}, max_bytes=1000)
    batch, _ = batch_of(reader, ["d"])
    assert [r.path for r in batch.results] == ["d/a.py"] and not batch.failures


@pytest.mark.parametrize(
    ("files", "dirs"),
    [({}, ["empty"]), ({"empty/notes.md": "# x", "empty/Makefile": "all:"}, [])],
)
def test_a_directory_without_python_files_is_an_empty_answer_with_a_note(
    files: dict[str, bytes | str], dirs: list[str]
) -> None:
    batch, _ = batch_of(FakeFileReader(files, dirs=dirs), ["empty"])
    assert batch.items == () and not batch.single_file
    assert len(batch.notes) == 1
    assert batch.notes[0].startswith("empty: ") and ".py" in batch.notes[0]


def test_a_directory_named_like_a_python_file_is_a_directory() -> None:
    batch, _ = batch_of(FakeFileReader({"x.py/a.py": GOOD, "x.py/b.pyi": GOOD}), ["x.py"])
    assert [r.path for r in batch.results] == ["x.py/a.py", "x.py/b.pyi"]
    assert not batch.single_file


@pytest.mark.parametrize("path", ["Makefile", "notes.md", "setup.cfg", "mod.pyc"])
def test_an_explicit_non_python_file_is_refused(path: str) -> None:
    reader = FakeFileReader({path: "all:\n\t.PHONY: x\n"})
    batch, world = batch_of(reader, [path])
    (failure,) = batch.items
    assert isinstance(failure, SkeletonFailure)
    assert failure.error == "NotPython" and failure.exit_code == 1
    assert failure.reason.startswith(f"{path}: ") and "\n" not in failure.reason
    assert world.primary.parsed == [] and world.fallback.parsed == []


def test_stubs_are_python_and_a_directory_lists_only_py_and_pyi() -> None:
    reader = FakeFileReader({"p/a.py": GOOD, "p/a.pyi": GOOD, "p/a.txt": GOOD, "p/b.pyw": GOOD})
    batch, _ = batch_of(reader, ["p", "p/a.pyi"])
    assert [r.path for r in batch.results] == ["p/a.py", "p/a.pyi", "p/a.pyi"]
    assert not batch.failures


def test_a_missing_file_without_suffix_is_missing_not_refused() -> None:
    batch, _ = batch_of(FakeFileReader({}), ["Makefile"])
    (failure,) = batch.failures
    assert failure.error == "FileMissing"


def test_extract_skeleton_itself_refuses_non_python_files() -> None:
    world = World({"Makefile": "all:\n", "stub.pyi": GOOD})
    with pytest.raises(NotPython):
        world.extract.execute("Makefile")
    with pytest.raises(FileMissing):
        world.extract.execute("NoSuchFile")
    assert world.extract.execute("stub.pyi").skeleton.entries
    assert world.primary.parsed == ["stub.pyi"]
