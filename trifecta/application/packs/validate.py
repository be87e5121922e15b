"""``ValidatePack``: is the pack sound and still what the files say?"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import NamedTuple

from trifecta.application.packs.config import PackSettings
from trifecta.application.packs.listing import ReaderLister
from trifecta.application.packs.recording import failure_event
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import InputError, PackCorrupt, PackMissing
from trifecta.domain.listing import SegmentLister
from trifecta.domain.model import TOKEN_ESTIMATOR, ReadMode, estimate_tokens
from trifecta.domain.packs import IndexInfo, Pack, PackChunk, PackState
from trifecta.domain.ports import Clock, FileReader, PackStore, SearchIndex
from trifecta.domain.records import replace


class _IndexSnapshot(NamedTuple):
    info: IndexInfo
    ids: list[str]
    chunks: list[PackChunk]
    state: PackState


@dataclass(frozen=True)
class ValidationReport:
    """``problems`` are one line each, prefixed by their kind (schema, hash, missing, new,
    chunk, index); an empty list means the pack is valid."""

    problems: tuple[str, ...]
    files: int
    chunks: int
    timing_ms: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "problems": list(self.problems),
            "files": self.files,
            "chunks": self.chunks,
        }

    def to_text(self) -> str:
        if self.ok:
            return f"pack is valid: {self.files} files, {self.chunks} chunks\n"
        lines = [f"pack is NOT valid ({len(self.problems)} problems):"]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines) + "\n"


class ValidatePack:
    """Checks the schema, every source file's hash, missing and newly added files, the
    chunks' ids and line ranges, and that the index matches the pack chunk for chunk.

    ``run(changed=...)`` is the check a sync ends with, proportional to what moved: every
    file is stat-ed (size and mtime as recorded), only the ``changed`` files are read and
    hashed, no listing (the sync just listed what moved), and the index is compared on the
    chunks of those files, its chunk count and its recorded state. ``ctx validate`` runs
    the full check."""

    def __init__(
        self,
        store: PackStore,
        index: SearchIndex,
        reader: FileReader,
        clock: Clock,
        telemetry: TelemetryService | None,
        settings: PackSettings,
        lister: SegmentLister | None = None,
    ) -> None:
        self._store = store
        self._index = index
        self._reader = reader
        self._clock = clock
        self._telemetry = telemetry
        self._settings = settings
        self._lister = lister if lister is not None else ReaderLister(reader)
        self._changed: frozenset[str] | None = None

    def run(self, changed: Collection[str] | None = None) -> ValidationReport:
        with failure_event(self._telemetry, self._clock, "ctx.validate", {}):
            self._changed = None if changed is None else frozenset(changed)
            return self._run()

    def _run(self) -> ValidationReport:
        start = self._clock.monotonic_ns()
        self._lister.check_patterns(self._settings.listing_include, self._settings.exclude)
        problems: list[str] = []
        unchanged = self._unchanged() if self._changed == frozenset() else None
        if unchanged is not None:
            files, chunks, found = unchanged
            problems.extend(found)
        elif self._changed:
            files, chunks, found = self._after_sync(self._changed)
            problems.extend(found)
        else:
            # Pack and index are read together under the read side of the build lock, so a
            # build running meanwhile is never seen half-way (index new, pack old).
            with self._store.lock(self._settings.lock_timeout_ms, shared=True):
                try:
                    pack, sha = self._store.load_with_sha()
                except PackCorrupt as e:
                    pack, sha = None, ""
                    problems.append(f"schema: {e}")
                snapshot = self._index_snapshot(pack) if pack is not None else None
            if pack is not None and snapshot is not None:
                problems.extend(self._files(pack))
                problems.extend(self._chunks(pack))
                problems.extend(self._index_matches(pack, sha, snapshot))
            files = len(pack.source_files) if pack else 0
            chunks = len(pack.chunks) if pack else 0
        report = ValidationReport(
            tuple(problems),
            files,
            chunks,
            int((self._clock.monotonic_ns() - start) // 1_000_000),
        )
        if self._telemetry is not None:
            self._telemetry.event(
                "ctx.validate",
                {},
                {"status": "ok" if report.ok else "invalid", "problems": len(report.problems)},
                report.timing_ms,
                tokens=estimate_tokens(report.to_text()),
            )
            self._telemetry.observe("ctx.validate", report.timing_ms)
        return report

    def _unchanged(self) -> tuple[int, int, list[str]] | None:
        """After a sync that re-read nothing, without loading the pack: the pack file is
        the one the index was written with (size and mtime), every recorded file still
        has its recorded stat, and the index holds as many chunks as it recorded. None
        when the pack file moved (the full path then decides)."""

        try:
            info = self._index.info()
            state = self._index.state()
            ids = self._index.chunk_ids()
        except (PackMissing, PackCorrupt) as e:
            return 0, 0, [f"index: {e}"]
        if self._store.stamp() != (info.pack_size, info.pack_mtime_ns):
            return None
        problems = []
        for record in state.files:
            now = self._reader.stat(record.path)
            if now is None:
                problems.append(f"missing: {record.path} (no such file)")
            elif (now.size, now.mtime_ns) != (record.size, record.mtime_ns):
                problems.append(f"hash: {record.path} changed since the build")
        present = len(set(ids))
        if present != info.chunk_count:
            missing, extra = max(0, info.chunk_count - present), max(0, present - info.chunk_count)
            problems.append(f"index: {missing} chunks missing, {extra} extra (run ctx build)")
        return len(state.files), info.chunk_count, problems

    def _after_sync(self, changed: frozenset[str]) -> tuple[int, int, list[str]]:
        """After a sync that re-read ``changed``, without loading every chunk: the pack's
        head and the chunks of those files, every other file stat-ed, the index compared
        on those chunks, its chunk count and its recorded state."""

        with self._store.lock(self._settings.lock_timeout_ms, shared=True):
            try:
                stored = self._store.load_stored()
                pack = replace(stored.head, chunks=tuple(stored.chunks_of(changed)))
            except PackCorrupt as e:
                return 0, 0, [f"schema: {e}"]
            total = sum(stored.counts.values())
            try:
                info = self._index.info()
                indexed = self._index.chunks([c.id for c in pack.chunks])
                state = self._index.state()
            except (PackMissing, PackCorrupt) as e:
                return len(pack.source_files), total, [f"index: {e}"]
        problems = [*self._files(pack), *self._chunks(pack)]
        if info.pack_sha != stored.sha:
            problems.append("index: built from another pack (run ctx build)")
        if info.chunk_count != total:
            missing, extra = max(0, total - info.chunk_count), max(0, info.chunk_count - total)
            problems.append(f"index: {missing} chunks missing, {extra} extra (run ctx build)")
        elif indexed != list(pack.chunks):
            differing = [c.id for c, i in zip(pack.chunks, indexed, strict=False) if c != i]
            example = differing[0] if differing else pack.chunks[len(indexed)].id
            problems.append(f"index: {max(1, len(differing))} chunks differ, e.g. {example}")
        if sorted(state.files, key=lambda f: f.path) != sorted(
            pack.source_files, key=lambda f: f.path
        ):
            problems.append("index: recorded source files differ from the pack")
        return len(pack.source_files), total, problems

    def _files(self, pack: Pack) -> list[str]:
        problems: list[str] = []
        if pack.estimator != TOKEN_ESTIMATOR:
            problems.append(f"schema: estimator {pack.estimator!r}, expected {TOKEN_ESTIMATOR!r}")
        line_counts: dict[str, int] = {}
        changed = self._changed
        for record in pack.source_files:
            if changed is not None and record.path not in changed:
                now = self._reader.stat(record.path)
                if now is None:
                    problems.append(f"missing: {record.path} (no such file)")
                elif (now.size, now.mtime_ns) != (record.size, record.mtime_ns):
                    problems.append(f"hash: {record.path} changed since the build")
                continue
            try:
                text = self._reader.read_text(record.path, ReadMode.RAW)
            except InputError as e:
                problems.append(f"missing: {record.path} ({e})")
                continue
            line_counts[record.path] = len(text.text.splitlines())
            if text.sha256 != record.sha256:
                problems.append(f"hash: {record.path} changed since the build")
        if changed is None:
            listed = self._lister.list_segment(
                self._settings.listing_include, self._settings.exclude
            ).files
            known = {f.path for f in pack.source_files} | {s.path for s in pack.skipped}
            problems.extend(
                f"new: {e.path} is not in the pack" for e in listed if e.path not in known
            )
        for chunk in pack.chunks:
            lines = line_counts.get(chunk.path)
            if lines is not None and chunk.line_end > max(lines, 1):
                problems.append(
                    f"chunk: {chunk.id} ends at line {chunk.line_end}, file has {lines}"
                )
        return problems

    @staticmethod
    def _chunks(pack: Pack) -> list[str]:
        problems: list[str] = []
        seen: set[str] = set()
        paths = {f.path for f in pack.source_files}
        for chunk in pack.chunks:
            if chunk.id in seen:
                problems.append(f"chunk: duplicate id {chunk.id}")
            seen.add(chunk.id)
            if "," in chunk.id:
                problems.append(f"chunk: id {chunk.id} contains ','")
            if chunk.path not in paths:
                problems.append(f"chunk: {chunk.id} cites {chunk.path}, not a source file")
            if not 1 <= chunk.line_start <= chunk.line_end:
                problems.append(f"chunk: {chunk.id} has lines {chunk.line_start}-{chunk.line_end}")
        return problems

    def _index_snapshot(self, pack: Pack) -> _IndexSnapshot | str:
        changed = self._changed
        try:
            info = self._index.info()
            ids = self._index.chunk_ids()
            self._index.count_matches(["trifecta"])  # the full-text table answers too
            compared = ids if changed is None else [c.id for c in pack.chunks if c.path in changed]
            return _IndexSnapshot(info, ids, self._index.chunks(compared), self._index.state())
        except (PackMissing, PackCorrupt) as e:
            return f"index: {e}"

    @staticmethod
    def _index_matches(pack: Pack, sha: str, snapshot: _IndexSnapshot | str) -> list[str]:
        if isinstance(snapshot, str):
            return [snapshot]
        info, ids, indexed, state = snapshot
        problems: list[str] = []
        if info.pack_sha != sha:
            problems.append("index: built from another pack (run ctx build)")
        if sorted(ids) != sorted(c.id for c in pack.chunks):
            missing = {c.id for c in pack.chunks} - set(ids)
            extra = set(ids) - {c.id for c in pack.chunks}
            problems.append(
                f"index: {len(missing)} chunks missing, {len(extra)} extra (run ctx build)"
            )
        else:
            by_id = {c.id: c for c in pack.chunks}
            differing = [c.id for c in indexed if by_id[c.id] != c]
            if differing:
                problems.append(f"index: {len(differing)} chunks differ, e.g. {differing[0]}")
        if sorted(state.files, key=lambda f: f.path) != sorted(
            pack.source_files, key=lambda f: f.path
        ):
            problems.append("index: recorded source files differ from the pack")
        return problems
