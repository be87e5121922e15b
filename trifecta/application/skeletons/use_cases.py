"""Skeleton use cases and the parser-fallback policy.

Policy (``parse_with_fallback``), readable top to bottom:

1. Parse with the primary parser (``ast``: exact). If it succeeds, that is the answer.
2. If it raises ``ParseFailed`` (a syntax error), parse with the fallback (Tree-sitter:
   tolerant) and mark the answer ``partial``: the exact parser could not parse the file, so
   the skeleton may be incomplete even when the tolerant parser saw no error.
3. If there is no fallback, or the fallback fails too, raise ``ParseFailed`` naming both.

Any other exception is a bug and is not caught here.

(Over 300 lines on purpose: the policy and the three use cases built on it, one file
skeleton, a batch of paths, a module's symbols, share the caching and telemetry helpers.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trifecta.application.skeletons.stub import render_stub
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import (
    FileMissing,
    FileRefused,
    NotPython,
    ParseFailed,
    SymbolNotFound,
    TrifectaError,
)
from trifecta.domain.model import ReadMode, Selector, Skeleton, estimate_tokens
from trifecta.domain.ports import Clock, FileReader, SkeletonCache, SkeletonParser
from trifecta.domain.records import replace
from trifecta.domain.selector import module_candidates


def parse_with_fallback(
    primary: SkeletonParser, fallback: SkeletonParser | None, source: str, path: str
) -> Skeleton:
    """Primary parser first; the fallback only on ``ParseFailed`` (see the module doc)."""

    try:
        return primary.parse(source, path)
    except ParseFailed as primary_error:
        if fallback is None:
            raise
        try:
            recovered = fallback.parse(source, path)
        except ParseFailed as fallback_error:
            raise ParseFailed(
                f"{primary_error} (and {fallback.name} failed too: {fallback_error})"
            ) from fallback_error
        return recovered if recovered.partial else replace(recovered, partial=True)


@dataclass(frozen=True)
class SkeletonResult:
    """The skeleton of one file and what serving it cost.

    ``skeleton_bytes`` is the UTF-8 size of ``rendered`` (the stub text an agent reads,
    with line markers); ``reduction_ratio`` is ``skeleton_bytes / source_bytes``.
    """

    skeleton: Skeleton
    cache_hit: bool
    source_bytes: int
    skeleton_bytes: int
    rendered: str
    timing_ms: float

    @property
    def path(self) -> str:
        return self.skeleton.path

    @property
    def reduction_ratio(self) -> float:
        return round(self.skeleton_bytes / self.source_bytes, 4) if self.source_bytes else 0.0


class _CachingParser(SkeletonParser):
    """A parser seen through the cache for one content hash: a stored skeleton is returned
    without parsing; a parsed one is stored. ``ParseFailed`` is never stored, so the policy
    runs unchanged (and the fallback's name/version, which may load a library, are only
    read when the fallback is actually needed)."""

    def __init__(
        self, parser: SkeletonParser, cache: SkeletonCache | None, sha256: str, clock: Clock
    ) -> None:
        self._parser = parser
        self._cache = cache
        self._sha256 = sha256
        self._clock = clock
        self.used = False
        self.hit = False
        self.parse_ns: int | None = None

    @property
    def name(self) -> str:
        return self._parser.name

    @property
    def version(self) -> str:
        return self._parser.version

    def parse(self, source: str, path: str) -> Skeleton:
        self.used = True
        parser, cache = self._parser, self._cache
        if cache is not None:
            stored = cache.get(self._sha256, parser.name, parser.version)
            if stored is not None:
                self.hit = True
                return stored
        started = self._clock.monotonic_ns()
        skeleton = parser.parse(source, path)
        self.parse_ns = self._clock.monotonic_ns() - started
        if cache is not None:
            cache.put(self._sha256, parser.name, parser.version, skeleton)
        return skeleton


PYTHON_SUFFIXES = (".py", ".pyi")
PYTHON_GLOBS = tuple(f"**/*{suffix}" for suffix in PYTHON_SUFFIXES)


def _ceil_ms(ns: int) -> int:
    return max(0, math.ceil(ns / 1_000_000))


class ExtractSkeleton:
    """The skeleton of one segment file: read it (mode SKELETON), then run the fallback
    policy with each parser seen through the cache for the file's content hash.

    Promises: a cache hit is only ever for the same content (sha256) and the same parser
    name and version, so a file that no longer parses never gets its old good skeleton; a
    partial skeleton is reported as partial whether or not it came from the cache; the
    fallback parser is not touched (not even its version) for files the primary parses.
    Emits ``ast.cache`` for every file and ``ast.parse`` for every parse, with counters
    ``ast_cache_hit_count`` / ``ast_cache_miss_count`` / ``ast_parse_count``.
    Raises ``NotPython`` for an existing file not named ``.py``/``.pyi``, other
    ``InputError`` subclasses for files it cannot read and ``ParseFailed`` when no parser
    can parse the text.
    """

    def __init__(
        self,
        reader: FileReader,
        primary: SkeletonParser,
        fallback: SkeletonParser | None,
        cache: SkeletonCache | None,
        clock: Clock,
        telemetry: TelemetryService,
    ) -> None:
        self._reader = reader
        self._primary = primary
        self._fallback = fallback
        self._cache = cache
        self._clock = clock
        self._telemetry = telemetry

    def execute(self, path: str) -> SkeletonResult:
        clock = self._clock
        started = clock.monotonic_ns()
        if not path.endswith(PYTHON_SUFFIXES) and self._reader.stat(path) is not None:
            raise NotPython(f"{path}: not a Python file (only .py and .pyi are skeletonized)")
        text = self._reader.read_text(path, ReadMode.SKELETON)
        primary = _CachingParser(self._primary, self._cache, text.sha256, clock)
        fallback = (
            None
            if self._fallback is None
            else _CachingParser(self._fallback, self._cache, text.sha256, clock)
        )
        parsed = parse_with_fallback(primary, fallback, text.text, path)
        answered_by = fallback if fallback is not None and fallback.used else primary
        skeleton = replace(parsed, path=path, source_bytes=text.size_bytes, lossy=text.lossy)
        rendered = render_stub(skeleton)
        elapsed_ns = clock.monotonic_ns() - started
        result = SkeletonResult(
            skeleton=skeleton,
            cache_hit=answered_by.hit,
            source_bytes=text.size_bytes,
            skeleton_bytes=len(rendered.encode("utf-8")),
            rendered=rendered,
            timing_ms=round(elapsed_ns / 1e6, 3),
        )
        self._record(result, answered_by.parse_ns, text.sha256)
        return result

    def _record(self, result: SkeletonResult, parse_ns: int | None, sha256: str) -> None:
        telemetry = self._telemetry
        skeleton = result.skeleton
        # Internal events: the tokens served to the agent are counted once, on the command's
        # own event (ast.skeleton / ast.symbols); here they are only the skeleton's size.
        skeleton_tokens = estimate_tokens(result.rendered)
        telemetry.incr("ast_cache_hit_count" if result.cache_hit else "ast_cache_miss_count")
        telemetry.event(
            "ast.cache",
            {"file_path_rel": skeleton.path},
            {"cache_hit": result.cache_hit, "parser": skeleton.parser},
            _ceil_ms(int(result.timing_ms * 1e6)),
            file_path_rel=skeleton.path,
            cache_hit=result.cache_hit,
            sha=sha256[:16],
            skeleton_tokens=skeleton_tokens,
        )
        if parse_ns is None:
            return
        telemetry.incr("ast_parse_count")
        telemetry.observe("ast.parse", _ceil_ms(parse_ns))
        warnings = [f"{skeleton.path}: partial skeleton"] if skeleton.partial else None
        telemetry.event(
            "ast.parse",
            {"file_path_rel": skeleton.path},
            {
                "functions": skeleton.functions,
                "classes": skeleton.classes,
                "parser": skeleton.parser,
                "partial": skeleton.partial,
            },
            _ceil_ms(parse_ns),
            warnings,
            file_path_rel=skeleton.path,
            skeleton_bytes=result.skeleton_bytes,
            source_bytes=result.source_bytes,
            reduction_ratio=result.reduction_ratio,
            timing_us=parse_ns // 1000,
            skeleton_tokens=skeleton_tokens,
        )


# ---- several paths ---------------------------------------------------------------------


@dataclass(frozen=True)
class SkeletonFailure:
    """A path that could not be served, with the one-line reason and the exit code its
    error class maps to. ``in_segment`` is False when ``path`` is the user's own spelling
    of a path that does not map into the segment (never written to telemetry)."""

    path: str
    error: str
    reason: str
    exit_code: int
    in_segment: bool = True


@dataclass(frozen=True)
class SkeletonBatch:
    """The answers for several paths, in order: results and failures interleaved.
    ``single_file`` is true when exactly one path was asked for and it named a file (not a
    directory): callers may then answer with one object instead of a list. ``notes``: one
    line per directory that held no Python file (an empty answer is not a failure)."""

    items: tuple[SkeletonResult | SkeletonFailure, ...]
    single_file: bool = False
    notes: tuple[str, ...] = ()

    @property
    def results(self) -> tuple[SkeletonResult, ...]:
        return tuple(i for i in self.items if isinstance(i, SkeletonResult))

    @property
    def failures(self) -> tuple[SkeletonFailure, ...]:
        return tuple(i for i in self.items if isinstance(i, SkeletonFailure))


@dataclass(frozen=True)
class _Targets:
    """What one user path expands to: segment-relative files to serve and refusals, in
    path order."""

    items: list[str | SkeletonFailure]
    is_directory: bool
    note: str | None = None


class ExtractSkeletons:
    """Skeletons for user-given paths: files, or directories (every ``.py``/``.pyi`` under
    them that ``.gitignore`` does not exclude, in sorted order). A path that fails (outside
    the segment, missing, not Python, binary, too large, unparsable) becomes a
    ``SkeletonFailure`` and the others are still served; so does each file a directory
    listing refused (``FileRefused``, with the listing's reason). A directory with no
    Python file is an empty answer with a note, not a failure. A file named explicitly must
    end in ``.py`` or ``.pyi`` (else ``NotPython``); a directory is a directory whatever
    its name. Emits one ``ast.skeleton`` event for the whole call."""

    def __init__(
        self,
        reader: FileReader,
        extract: ExtractSkeleton,
        clock: Clock,
        telemetry: TelemetryService,
    ) -> None:
        self._reader = reader
        self._extract = extract
        self._clock = clock
        self._telemetry = telemetry

    def _targets(self, user_path: str) -> _Targets | SkeletonFailure:
        reader = self._reader
        try:
            rel = reader.relative(user_path)
        except TrifectaError as e:
            return replace(_failure(user_path, e), in_segment=False)
        if not reader.is_dir(rel):
            return _Targets([rel], False)
        # The segment-wide globs, filtered by prefix: a directory name may hold glob
        # characters (``d[1]``) that must be taken literally.
        prefix = f"{rel}/" if rel else ""
        entries, skipped = reader.list_files(PYTHON_GLOBS)
        items: list[str | SkeletonFailure] = [e.path for e in entries if e.path.startswith(prefix)]
        items += [
            _failure(s.path, FileRefused(f"{s.path}: {s.reason}"))
            for s in skipped
            # files and directories refused, not notes on other files (a .gitignore line)
            if s.path.startswith(prefix) and s.path.endswith((".py", ".pyi", "/"))
        ]
        items.sort(key=lambda i: i if isinstance(i, str) else i.path)
        note = None
        if not items:
            note = f"{rel or '.'}: no .py or .pyi files to show (ignored paths are not listed)"
        return _Targets(items, True, note)

    def execute(self, user_paths: Sequence[str]) -> SkeletonBatch:
        started = self._clock.monotonic_ns()
        items: list[SkeletonResult | SkeletonFailure] = []
        notes: list[str] = []
        directories = 0
        for user_path in user_paths:
            targets = self._targets(user_path)
            if isinstance(targets, SkeletonFailure):
                items.append(targets)
                continue
            directories += targets.is_directory
            if targets.note is not None:
                notes.append(targets.note)
            for target in targets.items:
                if isinstance(target, SkeletonFailure):
                    items.append(target)
                    continue
                try:
                    items.append(self._extract.execute(target))
                except TrifectaError as e:
                    items.append(_failure(target, e))
        batch = SkeletonBatch(tuple(items), len(user_paths) == 1 and not directories, tuple(notes))
        elapsed_ns = self._clock.monotonic_ns() - started
        results, failures = batch.results, batch.failures
        self._telemetry.observe("ast.skeleton", _ceil_ms(elapsed_ns))
        self._telemetry.event(
            "ast.skeleton",
            {"paths": len(user_paths)},
            {
                "files": len(results),
                "failed": len(failures),
                "cache_hits": sum(1 for r in results if r.cache_hit),
                "partial": sum(1 for r in results if r.skeleton.partial),
                "source_bytes": sum(r.source_bytes for r in results),
                "skeleton_bytes": sum(r.skeleton_bytes for r in results),
            },
            _ceil_ms(elapsed_ns),
            [
                f"{f.path if f.in_segment else '<path outside the segment>'}: {f.error}"
                for f in failures
            ][:5]
            or None,
            tokens=sum(estimate_tokens(r.rendered) for r in results),
        )
        return batch


def _failure(path: str, error: TrifectaError) -> SkeletonFailure:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return SkeletonFailure(path, type(error).__name__, message, error.exit_code)


# ---- module symbols ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleSymbols:
    """The skeleton of the file holding a selector's module, narrowed to ``#Member`` (that
    symbol and everything nested in it) when the selector names one."""

    selector: Selector
    result: SkeletonResult
    skeleton: Skeleton


class SelectModuleSymbols:
    """``sym://python/mod/<module>[#Member]`` -> the module's symbols.

    Raises ``FileMissing`` when no candidate file exists in the segment and
    ``SymbolNotFound`` when the member is not defined in the module."""

    def __init__(
        self,
        reader: FileReader,
        extract: ExtractSkeleton,
        clock: Clock,
        telemetry: TelemetryService,
    ) -> None:
        self._reader = reader
        self._extract = extract
        self._clock = clock
        self._telemetry = telemetry

    def execute(self, selector: Selector) -> ModuleSymbols:
        started = self._clock.monotonic_ns()
        try:
            answer = self._select(selector)
        except TrifectaError as e:
            self._record(selector, None, started, type(e).__name__)
            raise
        self._record(selector, answer, started, None)
        return answer

    def _record(
        self, selector: Selector, answer: ModuleSymbols | None, started: int, error: str | None
    ) -> None:
        elapsed = _ceil_ms(self._clock.monotonic_ns() - started)
        self._telemetry.observe("ast.symbols", elapsed)
        result: dict[str, object] = {"error": error} if error else {}
        rendered = ""
        if answer is not None:
            rendered = render_stub(answer.skeleton)
            result = {
                "path": answer.skeleton.path,
                "symbols": len(answer.skeleton.entries),
                "cache_hit": answer.result.cache_hit,
            }
        self._telemetry.event(
            "ast.symbols",
            {"module": selector.module, "member": selector.member},
            result,
            elapsed,
            tokens=estimate_tokens(rendered),
        )

    def _select(self, selector: Selector) -> ModuleSymbols:
        candidates = module_candidates(selector.module)
        path = next((c for c in candidates if self._reader.stat(c) is not None), None)
        if path is None:
            raise FileMissing(
                f"module {selector.module!r} not found in the segment "
                f"(looked for {', '.join(candidates)})"
            )
        result = self._extract.execute(path)
        skeleton = result.skeleton
        member = selector.member
        if member is not None:
            chosen = tuple(
                e
                for e in skeleton.entries
                if e.qualname == member or e.qualname.startswith(member + ".")
            )
            if not chosen:
                raise SymbolNotFound(f"{member!r} is not defined in module {selector.module!r}")
            base = chosen[0].depth
            rebased = tuple(replace(e, depth=e.depth - base) for e in chosen)
            skeleton = replace(skeleton, entries=rebased, module_doc=None)
        return ModuleSymbols(selector, result, skeleton)
