"""``BuildPack``: build a context pack from scratch, or sync it incrementally."""

from __future__ import annotations

from dataclasses import dataclass

from trifecta.application.packs.chunking import IdAllocator
from trifecta.application.packs.ingest import (
    PackSettings,
    chunk_file,
    ingestion_order,
    meta_rank,
    parent_dirs,
)
from trifecta.application.packs.recording import failure_event
from trifecta.application.telemetry.service import TelemetryService
from trifecta.domain.errors import InputError, PackCorrupt, PackMissing
from trifecta.domain.model import FileEntry, ReadMode, SkippedFile, estimate_tokens
from trifecta.domain.packs import (
    DirStamp,
    IndexDoc,
    IndexInfo,
    Pack,
    PackChunk,
    SourceFile,
    covered_tokens,
)
from trifecta.domain.ports import Clock, FileReader, PackStore, SearchIndex, SkeletonParser


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


class BuildPack:
    """Builds ``<segment>/_ctx/context_pack.json`` and its search index.

    A full build reads every file; an incremental one (sync) re-reads only files whose size
    or mtime moved, lets their hash decide, and keeps the chunks of the rest. Both run under
    the store's build lock (concurrent builds wait, bounded) and write atomically.
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
    ) -> None:
        self._reader = reader
        self._parser = parser
        self._fallback = fallback_parser
        self._store = store
        self._index = index
        self._clock = clock
        self._telemetry = telemetry
        self._settings = settings

    def run(self, incremental: bool = False) -> BuildReport:
        cmd = "ctx.sync" if incremental else "ctx.build"
        with failure_event(self._telemetry, self._clock, cmd, {}):
            return self._run(incremental)

    def _run(self, incremental: bool) -> BuildReport:
        start = self._clock.monotonic_ns()
        with self._store.lock(self._settings.lock_timeout_ms):
            previous = self._previous() if incremental else None
            pack, sha = previous if previous is not None else (None, "")
            report = self._build(pack, sha, start)
        self._record(report)
        return report

    # ---- steps ---------------------------------------------------------------------------

    def _previous(self) -> tuple[Pack, str] | None:
        """The pack (and its sha) to sync from, if it and its index are usable (else a
        full build)."""

        try:
            pack, sha = self._store.load_with_sha()
            if self._index.info().pack_sha != sha:
                return None
        except (PackMissing, PackCorrupt):
            return None
        return pack, sha

    def _build(self, previous: Pack | None, previous_sha: str, start: int) -> BuildReport:
        settings = self._settings
        listed, skipped = self._reader.list_files(settings.listing_include, settings.exclude)
        old_files = previous.files_by_path() if previous else {}
        old_chunks = previous.chunks_by_path() if previous else {}
        files: list[SourceFile] = []
        chunks: list[PackChunk] = []
        new_docs: list[IndexDoc] = []
        read: list[str] = []
        warnings: list[str] = []
        skipped = list(skipped)
        reused = 0
        bytes_read = 0
        old_warnings: dict[str, list[str]] = {}
        for warning in previous.warnings if previous else ():
            old_warnings.setdefault(warning.split(": ", 1)[0], []).append(warning)
        # Pass 1: which files keep their chunks (stat or hash unchanged), which are re-cut.
        slots: list[list[PackChunk] | tuple[str, str, bool]] = []
        for entry in ingestion_order(listed):
            meta = meta_rank(entry.path) is not None
            old = old_files.get(entry.path)
            if old is not None and (old.size, old.mtime_ns) == (entry.size, entry.mtime_ns):
                files.append(old)
                slots.append(old_chunks.get(entry.path, []))
                warnings.extend(old_warnings.get(entry.path, []))
                reused += 1
                continue
            try:
                text = self._reader.read_text(entry.path, ReadMode.RAW)
            except InputError as e:
                skipped.append(SkippedFile(entry.path, _reason(entry.path, e)))
                continue
            bytes_read += text.size_bytes
            record = SourceFile(
                entry.path, text.size_bytes, entry.mtime_ns, text.sha256, meta, text.lossy
            )
            files.append(record)
            if text.lossy:
                warnings.append(f"{entry.path}: not valid UTF-8, decoded with replacement")
            if old is not None and old.sha256 == text.sha256:
                slots.append(old_chunks.get(entry.path, []))  # touched, not changed
                warnings.extend(w for w in old_warnings.get(entry.path, []) if w not in warnings)
                reused += 1
                continue
            slots.append((entry.path, text.text, meta))
        # Pass 2: cut the changed files with one pack-wide allocator that already holds the
        # kept ids, so ids are unique across the pack and a sync never renames a kept chunk.
        ids = IdAllocator(c.id for slot in slots if isinstance(slot, list) for c in slot)
        for slot in slots:
            if isinstance(slot, list):
                chunks.extend(slot)
                continue
            path, source, meta = slot
            docs, parse_warning = chunk_file(
                path, source, meta, self._parser, self._fallback, ids, settings.demote
            )
            if parse_warning:
                warnings.append(parse_warning)
            new_docs.extend(docs)
            chunks.extend(d.chunk for d in docs)
            read.append(path)
        listed_paths = {f.path for f in files}
        removed = tuple(sorted(p for p in old_files if p not in listed_paths))
        pack = Pack(
            source_files=tuple(files),
            chunks=tuple(chunks),
            skipped=tuple(sorted(skipped, key=lambda s: s.path)),
            warnings=tuple(warnings),
            directories=self._directories([f.path for f in files]),
            parser=self._parser.name,
        )
        if previous is not None and pack == previous:
            # Nothing moved (same files, stats, chunks, skips): keep the pack and index as
            # they are, so a no-op sync writes nothing.
            return self._report(pack, True, (), (), reused, 0, previous_sha, start)

        def write_index(sha: str, stamp: tuple[int, int]) -> None:
            # The index is committed first; the pack replaces the old one only after, so a
            # failing index write leaves the previous pack and index in step.
            info = IndexInfo(sha, stamp[0], stamp[1], len(pack.chunks))
            if previous is None:
                self._index.replace(info, new_docs, pack.state())
            else:
                self._index.update(info, [*read, *removed], new_docs, pack.state())

        sha = self._store.save(pack, write_index)
        return self._report(
            pack, previous is not None, tuple(read), removed, reused, bytes_read, sha, start
        )

    def _report(
        self,
        pack: Pack,
        incremental: bool,
        read: tuple[str, ...],
        removed: tuple[str, ...],
        reused: int,
        bytes_read: int,
        sha: str,
        start: int,
    ) -> BuildReport:
        elapsed = (self._clock.monotonic_ns() - start) // 1_000_000
        return BuildReport(
            incremental=incremental,
            files=len(pack.source_files),
            chunks=len(pack.chunks),
            tokens=covered_tokens(pack.chunks),
            read=read,
            reused=reused,
            removed=removed,
            skipped=pack.skipped,
            warnings=pack.warnings,
            pack_sha=sha,
            bytes_read=bytes_read,
            timing_ms=int(elapsed),
        )

    def _directories(self, paths: list[str]) -> tuple[DirStamp, ...]:
        """Stamps of every directory holding a listed file of any kind (not only the packed
        ones), so a new source file in, say, a directory of JSON fixtures is noticed too."""

        everything, _ = self._reader.list_files(("**/*",), self._settings.exclude)
        stamps = []
        for directory in parent_dirs([*paths, *(e.path for e in everything)]):
            entry: FileEntry | None = self._reader.stat(directory)
            stamps.append(DirStamp(directory, entry.mtime_ns if entry else -1))
        return tuple(stamps)

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


def _reason(path: str, error: InputError) -> str:
    message = str(error)
    return message.removeprefix(f"{path}: ") or type(error).__name__
