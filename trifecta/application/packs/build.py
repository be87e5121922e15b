"""``BuildPack``: build a context pack from scratch, or sync it incrementally."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from trifecta.application.packs.chunking import IdAllocator
from trifecta.application.packs.ingest import (
    ChunkOutcome,
    ChunkTask,
    FileChunker,
    PackSettings,
    ingestion_order,
    meta_rank,
)
from trifecta.application.packs.listing import ReaderLister
from trifecta.application.packs.recording import failure_event
from trifecta.application.packs.search import settle
from trifecta.application.packs.workers import ChunkerFactory, cut_files, default_jobs, tuned_gc
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import PackCorrupt, PackMissing
from trifecta.domain.listing import SegmentLister, SegmentListing
from trifecta.domain.model import FileEntry, SkippedFile, estimate_tokens
from trifecta.domain.packs import (
    ChunkPart,
    IndexDoc,
    IndexInfo,
    KeptChunks,
    Pack,
    PackChunk,
    PackState,
    SourceFile,
    covered_tokens,
)
from trifecta.domain.ports import (
    ChangeHistory,
    Clock,
    FileReader,
    IndexWriter,
    PackStore,
    PackWriter,
    SearchIndex,
    SkeletonParser,
    StoredPack,
)


@dataclass(frozen=True)
class BuildReport:
    """What a build or sync did. ``read``: files read and (re)chunked; ``reused``: files
    whose chunks were kept (stat or hash unchanged); ``removed``: files gone from the pack."""

    incremental: bool
    files: int
    chunks: int
    tokens: int
    read: tuple[str, ...]
    reused: int
    removed: tuple[str, ...]
    skipped: tuple[SkippedFile, ...]
    warnings: tuple[str, ...]
    pack_sha: str
    bytes_read: int
    timing_ms: int

    def to_text(self) -> str:
        if self.incremental:
            head = (
                f"synced pack: {self.files} files ({len(self.read)} read, {self.reused} "
                f"unchanged, {len(self.removed)} removed), {self.chunks} chunks"
            )
        else:
            head = f"built pack: {self.files} files, {self.chunks} chunks, ~{self.tokens} tokens"
        lines = [f"{head} in {self.timing_ms} ms"]
        lines.extend(f"skipped {s.path}: {s.reason}" for s in self.skipped)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, object]:
        return {
            "incremental": self.incremental,
            "files": self.files,
            "chunks": self.chunks,
            "tokens": self.tokens,
            "read": list(self.read),
            "reused": self.reused,
            "removed": list(self.removed),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "warnings": list(self.warnings),
            "pack_sha": self.pack_sha,
            "bytes_read": self.bytes_read,
            "timing_ms": self.timing_ms,
        }


@dataclass(frozen=True)
class BuildProgress:
    """Files cut so far out of ``total`` (the files a build or sync has to read)."""

    done: int
    total: int
    elapsed_s: float


ProgressCallback = Callable[[BuildProgress], None]


class BuildPack:
    """Builds ``<segment>/_ctx/context_pack.json`` and its search index.

    A full build lists the segment once and cuts every file, in worker processes when
    ``jobs`` > 1 (``trifecta.application.packs.workers``). A sync (``incremental``) starts
    from the index's recorded state: one ``stat`` per recorded file and directory; only a
    directory whose mtime moved is listed again, only a file whose size or mtime moved is
    read (its hash decides whether it is cut again); when nothing moved it writes nothing.
    Both run under the store's build lock and write atomically.
    """

    def __init__(
        self,
        reader: FileReader,
        parser: SkeletonParser,
        fallback_parser: SkeletonParser | None,
        store: PackStore,
        index: SearchIndex,
        clock: Clock,
        telemetry: TelemetryService | None,
        settings: PackSettings,
        lister: SegmentLister | None = None,
        chunker: ChunkerFactory | None = None,
        jobs: int = 1,
        history: ChangeHistory | None = None,
    ) -> None:
        self._reader = reader
        self._parser = parser
        self._fallback = fallback_parser
        self._store = store
        self._index = index
        self._clock = clock
        self._telemetry = telemetry
        self._settings = settings
        self._lister = lister if lister is not None else ReaderLister(reader)
        self._chunker = chunker if chunker is not None else self._local_chunker
        self.jobs = jobs if jobs > 0 else default_jobs()
        self._history = history  # the search's prior: recent commits' files (search.history)

    def _local_chunker(self) -> FileChunker:
        return FileChunker(self._reader, self._parser, self._fallback, demote=self._settings.demote)

    def run(
        self,
        incremental: bool = False,
        progress: ProgressCallback | None = None,
        jobs: int | None = None,
    ) -> BuildReport:
        cmd = "ctx.sync" if incremental else "ctx.build"
        with failure_event(self._telemetry, self._clock, cmd, {}):
            workers = self.jobs if jobs is None else (jobs if jobs > 0 else default_jobs())
            return self._run(incremental, progress, workers)

    def _run(self, incremental: bool, progress: ProgressCallback | None, jobs: int) -> BuildReport:
        start = self._clock.monotonic_ns()
        self._lister.check_patterns(self._settings.listing_include, self._settings.exclude)
        with self._store.lock(self._settings.lock_timeout_ms), tuned_gc():
            settle(self._store, self._index)
            report = self._sync(start, progress, jobs) if incremental else None
            if report is None:
                report = self._full(start, progress, jobs)
            if self._history is not None:
                self._history.record()
        self._record(report)
        return report

    # ---- full build ----------------------------------------------------------------------

    def _full(self, start: int, progress: ProgressCallback | None, jobs: int) -> BuildReport:
        settings = self._settings
        listing = self._lister.list_segment(settings.listing_include, settings.exclude)
        tasks = [
            ChunkTask(e.path, meta_rank(e.path) is not None, encode=True)
            for e in ingestion_order(listing.files)
        ]
        stats = {e.path: e for e in listing.files}
        # Pack and index are written as files are cut: the build never holds them whole.
        index = self._index.writer()
        try:
            pack = self._store.writer()
            try:
                return self._full_write(listing, tasks, stats, pack, index, start, progress, jobs)
            finally:
                pack.close()
        finally:
            index.close()

    def _full_write(
        self,
        listing: SegmentListing,
        tasks: list[ChunkTask],
        stats: dict[str, FileEntry],
        pack: PackWriter,
        index: IndexWriter,
        start: int,
        progress: ProgressCallback | None,
        jobs: int,
    ) -> BuildReport:
        cut = _Cut(_Ids(), self._chunker, index.add, pack.add, (index, pack))
        for outcome in self._outcomes(tasks, start, progress, jobs):
            cut.add(outcome, stats[outcome.path].mtime_ns, None, ())
        cut.flush()
        head = Pack(
            source_files=tuple(cut.files),
            chunks=(),
            skipped=tuple(sorted([*listing.skipped, *cut.skipped], key=lambda s: s.path)),
            warnings=tuple(cut.warnings),
            directories=listing.directories,
            parser=self._parser.name,
        )

        def write_index(sha: str, stamp: tuple[int, int]) -> None:
            index.commit(IndexInfo(sha, stamp[0], stamp[1], cut.count, cut.tokens), head.state())

        sha = pack.commit(head, write_index)
        return self._report(
            head, cut.count, cut.tokens, tuple(cut.read), (), 0, cut.bytes_read, sha, start, False
        )

    def _outcomes(
        self,
        tasks: list[ChunkTask],
        start: int,
        progress: ProgressCallback | None,
        jobs: int,
    ) -> Iterator[ChunkOutcome]:
        total = len(tasks)
        if progress is not None:
            progress(BuildProgress(0, total, 0.0))
        for done, outcome in enumerate(cut_files(tasks, self._chunker, jobs), start=1):
            if progress is not None:
                elapsed = (self._clock.monotonic_ns() - start) / 1e9
                progress(BuildProgress(done, total, elapsed))
            yield outcome

    # ---- sync ----------------------------------------------------------------------------

    def _sync(self, start: int, progress: ProgressCallback | None, jobs: int) -> BuildReport | None:
        """A sync from the recorded state, or None when a full build is needed (no usable
        pack and index)."""

        try:
            info = self._index.info()
            state = self._index.state()
            # An index whose rows or tables are damaged is rebuilt, not updated.
            self._index.check()
        except (PackMissing, PackCorrupt):
            return None
        if self._store.stamp() != (info.pack_size, info.pack_mtime_ns):
            return None
        # One stamp per recorded directory and file (directories first, parents before
        # children: the reader then confines each file with one ``lstat``).
        dirs = state.directories
        stamps = self._reader.stamps([d.path for d in dirs] + [f.path for f in state.files])
        changed_dirs = [
            d.path
            for d, now in zip(dirs, stamps[: len(dirs)], strict=True)
            if now is None or now[1] != d.mtime_ns
        ]
        moved: list[SourceFile] = []
        deleted: set[str] = set()
        for record, now in zip(state.files, stamps[len(dirs) :], strict=True):
            if now is None:
                deleted.add(record.path)
            elif now != (record.size, record.mtime_ns):
                moved.append(record)
        if not moved and not deleted and not changed_dirs:
            # Nothing moved: the pack and index stay as they are (nothing is written).
            return BuildReport(
                incremental=True,
                files=len(state.files),
                chunks=info.chunk_count,
                tokens=info.tokens,
                read=(),
                reused=len(state.files),
                removed=(),
                skipped=state.skipped,
                warnings=state.warnings,
                pack_sha=info.pack_sha,
                bytes_read=0,
                timing_ms=self._elapsed_ms(start),
            )
        try:
            stored = self._store.load_stored()
        except (PackMissing, PackCorrupt):
            return None
        if stored.sha != info.pack_sha:
            return None
        return self._apply(stored, info, state, moved, deleted, changed_dirs, start, progress, jobs)

    def _apply(
        self,
        stored: StoredPack,
        info: IndexInfo,
        state: PackState,
        moved: list[SourceFile],
        deleted: set[str],
        changed_dirs: list[str],
        start: int,
        progress: ProgressCallback | None,
        jobs: int,
    ) -> BuildReport:
        """The sync's new pack, written as a patch of the stored one: the chunks of files
        not cut again are copied as they are stored, never parsed or encoded again."""

        settings = self._settings
        previous = stored.head
        known = {d.path for d in state.directories}
        listing = self._lister.list_changed(
            changed_dirs, known, settings.listing_include, settings.exclude
        )
        old_files = previous.files_by_path()
        scope = _Scope(changed_dirs, {d.path for d in listing.directories} - known)
        listed_here = {f.path for f in listing.files}
        new_entries = [f for f in listing.files if f.path not in old_files]
        # Recorded files right inside a re-listed directory that the listing no longer
        # gives (now excluded or ignored) leave the pack like deleted ones.
        dropped = {
            p for p in old_files if scope.covers(p) and p not in listed_here and p not in deleted
        }
        gone = deleted | dropped
        moved_paths = {m.path for m in moved if m.path not in gone}
        entries: dict[str, int] = {p: f.mtime_ns for p, f in old_files.items() if p not in gone}
        for record in moved:
            now = self._reader.stat(record.path)
            if now is not None and record.path in entries:
                entries[record.path] = now.mtime_ns
        for entry in new_entries:
            entries[entry.path] = entry.mtime_ns
        order = ingestion_order([FileEntry(p, 0, m) for p, m in entries.items()])
        tasks = [
            ChunkTask(e.path, meta_rank(e.path) is not None, _old_sha(old_files, e.path))
            for e in order
            if e.path in moved_paths or e.path not in old_files
        ]
        outcomes = {o.path: o for o in self._outcomes(tasks, start, progress, jobs)}
        old_warnings: dict[str, list[str]] = {}
        for warning in previous.warnings:
            old_warnings.setdefault(warning.split(": ", 1)[0], []).append(warning)
        # The old chunks that leave the pack: those of files cut again or gone. Their ids
        # are free again; every other stored id stays taken.
        freed_paths = {p for p in old_files if p not in entries} | {
            p for p, o in outcomes.items() if p in old_files and not _unchanged(o)
        }
        freed = stored.chunks_of(freed_paths)
        docs: list[IndexDoc] = []
        cut = _Cut(_TakenIds(self._index, {c.id for c in freed}), self._chunker, docs.extend)
        reused = 0
        for entry in order:
            outcome = outcomes.get(entry.path)
            old = old_files.get(entry.path)
            if outcome is None and old is not None:
                cut.keep(old, old_warnings.get(entry.path, []))
                reused += 1
                continue
            assert outcome is not None
            cut.add(outcome, entry.mtime_ns, old, old_warnings.get(entry.path, []))
            if outcome.chunks is None and outcome.skip is None:
                reused += 1
        cut.flush()
        skipped = [s for s in previous.skipped if not scope.covers(s.path.rstrip("/"))]
        skipped = [s for s in skipped if s.path not in entries]
        skipped.extend(listing.skipped)
        skipped.extend(cut.skipped)
        directories = {d.path: d for d in state.directories if d.path not in scope.changed}
        directories.update({d.path: d for d in listing.directories})
        head = Pack(
            source_files=tuple(cut.files),
            chunks=(),
            skipped=tuple(sorted(set(skipped), key=lambda s: s.path)),
            warnings=tuple(cut.warnings),
            directories=tuple(directories[p] for p in sorted(directories)),
            parser=self._parser.name,
        )
        listed_paths = {f.path for f in head.source_files}
        removed = tuple(sorted(p for p in old_files if p not in listed_paths))
        recut = [p for p in cut.read if p in old_files]
        count = info.chunk_count - len(freed) + cut.count
        tokens = info.tokens - covered_tokens(freed) + cut.tokens
        if head == previous and not cut.count and not freed:
            return self._report(
                head, count, tokens, (), (), reused, cut.bytes_read, stored.sha, start
            )

        def write_index(sha: str, stamp: tuple[int, int]) -> None:
            self._index.update(
                IndexInfo(sha, stamp[0], stamp[1], count, tokens),
                [*recut, *removed],
                docs,
                head.state(),
            )

        sha = self._store.save_patch(stored, head, cut.parts, write_index)
        return self._report(
            head, count, tokens, tuple(cut.read), removed, reused, cut.bytes_read, sha, start
        )

    def _report(
        self,
        head: Pack,
        chunks: int,
        tokens: int,
        read: tuple[str, ...],
        removed: tuple[str, ...],
        reused: int,
        bytes_read: int,
        sha: str,
        start: int,
        incremental: bool = True,
    ) -> BuildReport:
        return BuildReport(
            incremental=incremental,
            files=len(head.source_files),
            chunks=chunks,
            tokens=tokens,
            read=read,
            reused=reused,
            removed=removed,
            skipped=head.skipped,
            warnings=head.warnings,
            pack_sha=sha,
            bytes_read=bytes_read,
            timing_ms=self._elapsed_ms(start),
        )

    def _elapsed_ms(self, start: int) -> int:
        return int((self._clock.monotonic_ns() - start) // 1_000_000)

    def _record(self, report: BuildReport) -> None:
        if self._telemetry is None:
            return
        cmd = "ctx.sync" if report.incremental else "ctx.build"
        total = report.files or 1
        self._telemetry.event(
            cmd,
            {},
            {
                "status": "ok",
                "files": report.files,
                "chunks": report.chunks,
                "read": len(report.read),
                "reused": report.reused,
                "removed": len(report.removed),
                "skipped": len(report.skipped),
            },
            report.timing_ms,
            warnings=list(report.warnings[:5]),
            bytes_read=report.bytes_read,
            disclosure_mode="raw",
            cache_hit_rate=round(report.reused / total, 4),
            tokens=estimate_tokens(report.to_text()),
        )
        self._telemetry.observe(cmd, report.timing_ms)
        self._telemetry.incr(cmd.replace(".", "_") + "_count")


STORE_BATCH = 512  # skeletons stored in the shared cache per write


def _unchanged(outcome: ChunkOutcome) -> bool:
    return outcome.chunks is None and outcome.skip is None


def _old_sha(old_files: dict[str, SourceFile], path: str) -> str | None:
    old = old_files.get(path)
    return old.sha256 if old is not None else None


class _Scope:
    """What a sync listed again: the files right inside ``changed`` directories and
    everything under the ``new`` ones."""

    def __init__(self, changed: list[str], new: set[str]) -> None:
        self.changed = set(changed)
        self.new = new

    def covers(self, path: str) -> bool:
        parent = path.rpartition("/")[0]
        if parent in self.changed:
            return True
        return any(parent == d or parent.startswith(d + "/") for d in self.new)


class _Ids:
    """The chunk ids a pack being assembled has taken (here: all, in a set)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def isdisjoint(self, ids: Iterable[str]) -> bool:
        return self.taken.isdisjoint(ids)

    def update(self, ids: Iterable[str]) -> None:
        self.taken.update(ids)

    def all(self) -> set[str]:
        return set(self.taken)


class _TakenIds(_Ids):
    """A sync's taken ids: the stored ones (asked of the index, a few at a time) but the
    ``freed`` ones, plus those of the chunks cut so far."""

    def __init__(self, index: SearchIndex, freed: set[str]) -> None:
        super().__init__()
        self._index = index
        self._freed = freed

    def isdisjoint(self, ids: Iterable[str]) -> bool:
        wanted = list(ids)
        if not self.taken.isdisjoint(wanted):
            return False
        return all(c.id in self._freed for c in self._index.chunks(wanted))

    def all(self) -> set[str]:
        return (set(self._index.chunk_ids()) - self._freed) | self.taken


class _Cut:
    """The pack being assembled in ingestion order: files, chunks, the new index documents
    and warnings. Chunk ids stay unique pack-wide: a file whose worker-made ids meet one
    already taken is cut again here with the pack's allocator (as a serial build would)."""

    def __init__(
        self,
        used: _Ids,
        chunker: Callable[[], FileChunker],
        index: Callable[[Sequence[IndexDoc]], None],
        pack: Callable[[Sequence[PackChunk]], None] | None = None,
        writers: tuple[IndexWriter, PackWriter] | None = None,
    ) -> None:
        self.used = used
        self._chunker = chunker
        self._index = index  # where the new documents go, in pack order
        self._pack = pack  # where the new chunks go; None: into ``parts`` (a sync's patch)
        self._writers = writers  # where encoded outcomes go (a full build's)
        self.files: list[SourceFile] = []
        self.parts: list[ChunkPart] = []  # every file's chunks: new, or kept as stored
        self.count = 0  # new chunks
        self.tokens = 0  # their covered tokens
        self.read: list[str] = []
        self.warnings: list[str] = []
        self.skipped: list[SkippedFile] = []
        self.bytes_read = 0
        self._parsed: list[tuple[str, str, str, bytes]] = []
        self._local: FileChunker | None = None

    def _here(self) -> FileChunker:
        if self._local is None:
            self._local = self._chunker()
        return self._local

    def flush(self) -> None:
        """Store the skeletons parsed so far in the shared cache, then release the local
        chunker's connection."""

        if self._parsed:
            self._here().store(self._parsed)
            self._parsed = []
        if self._local is not None:
            self._local.close()

    def keep(self, record: SourceFile, warnings: list[str]) -> None:
        self.files.append(record)
        self.parts.append(KeptChunks(record.path))
        self.warnings.extend(warnings)

    def add(
        self,
        outcome: ChunkOutcome,
        mtime_ns: int,
        old: SourceFile | None,
        old_warnings: list[str] | tuple[()] = (),
    ) -> None:
        if outcome.skip is not None:
            self.skipped.append(SkippedFile(outcome.path, outcome.skip))
            return
        self._parsed.extend(outcome.parsed)
        if len(self._parsed) >= STORE_BATCH:
            self.flush()
        self.bytes_read += outcome.size
        meta = meta_rank(outcome.path) is not None
        record = SourceFile(
            outcome.path, outcome.size, mtime_ns, outcome.sha256, meta, outcome.lossy
        )
        self.files.append(record)
        if outcome.chunks is None:  # touched, not changed: keep its chunks and warnings
            self.parts.append(KeptChunks(outcome.path))
            self.warnings.extend(old_warnings)
            return
        encoded = outcome.encoded
        if encoded is not None and self._writers is not None:
            taken = encoded.ids
            if len(set(taken)) == len(taken) and self.used.isdisjoint(taken):
                # Appended as the worker encoded them (a full build's common case).
                self.used.update(taken)
                self._writers[0].add_encoded(encoded.rows)
                self._writers[1].add_encoded(encoded.pack)
                self.count += len(taken)
                self.tokens += encoded.tokens
                self.warnings.extend(outcome.warnings)
                self.read.append(outcome.path)
                return
        chunks, docs, warnings = outcome.chunks, outcome.docs, outcome.warnings
        ids = [c.id for c in chunks]
        # Cut again here: ids already taken (or encoded ones that were), as a serial build.
        if encoded is not None or len(set(ids)) != len(ids) or not self.used.isdisjoint(ids):
            ids_now = IdAllocator(self.used.all())
            again = self._here().run(ChunkTask(outcome.path, meta), ids_now)
            self._parsed.extend(again.parsed)
            chunks, docs, warnings = again.chunks or (), again.docs, again.warnings
        self.used.update(c.id for c in chunks)
        self._index(docs)
        self.count += len(chunks)
        self.tokens += covered_tokens(chunks)
        if self._pack is not None:
            self._pack(chunks)
        else:
            self.parts.append(tuple(chunks))
        self.warnings.extend(warnings)
        self.read.append(outcome.path)
