"""The file reader over an in-memory tree."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence

from trifecta.domain.errors import (
    BinaryFile,
    FileMissing,
    FileTooLarge,
    PathOutsideSegment,
)
from trifecta.domain.model import (
    FileEntry,
    FileText,
    ReadMode,
    SkippedFile,
)
from trifecta.domain.ports import (
    ChangeFeed,
    FileReader,
)


class FakeFileReader(FileReader):
    """A segment held in a dict of path -> bytes. Paths starting with ``../`` or ``/`` are
    outside; ``symlinks`` maps a path to its (possibly outside) target."""

    def __init__(
        self,
        files: Mapping[str, bytes | str] | None = None,
        max_bytes: int = 2 * 1024 * 1024,
        symlinks: Mapping[str, str] | None = None,
        cwd: str = "",
        dirs: Sequence[str] = (),
    ) -> None:
        self.cwd = cwd  # the current directory, segment-relative
        self.dirs = set(dirs)  # directories holding no file (others follow from files)
        self.files: dict[str, bytes] = {
            p: (c.encode("utf-8") if isinstance(c, str) else c) for p, c in (files or {}).items()
        }
        self.mtimes: dict[str, int] = {p: 1 for p in self.files}
        self.symlinks = dict(symlinks or {})
        self.max_bytes = max_bytes
        self.counts: dict[ReadMode, int] = {m: 0 for m in ReadMode}
        self.stamp_calls = 0
        self.on_stamps: Callable[[], None] | None = None  # called as stamps() begins

    def write(self, path: str, content: bytes | str) -> None:
        self.files[path] = content.encode("utf-8") if isinstance(content, str) else content
        self.mtimes[path] = self.mtimes.get(path, 0) + 1

    def _target(self, path: str) -> str:
        target = self.symlinks.get(path, path)
        if target.startswith(("/", "../")) or "/../" in target:
            raise PathOutsideSegment(f"{path}: path leaves the segment")
        return target

    def relative(self, user_path: str) -> str:
        if user_path.startswith("/"):
            raise PathOutsideSegment(f"{user_path}: path is outside the segment")
        from_cwd = user_path in (".", "..") or user_path.startswith(("./", "../"))
        exists = user_path in self.files or user_path in self.symlinks or self.is_dir(user_path)
        joined = user_path if not from_cwd and exists else posixpath.join(self.cwd, user_path)
        path = posixpath.normpath(joined)
        if path == ".." or path.startswith("../"):
            raise PathOutsideSegment(f"{user_path}: path is outside the segment")
        path = "" if path == "." else path
        self._target(path)
        return path

    def is_dir(self, path: str) -> bool:
        try:
            target = self._target(path)
        except PathOutsideSegment:
            return False
        if target in ("", ".") or target in self.dirs:
            return True
        prefix = target.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in (*self.files, *self.dirs))

    def read_text(self, path: str, mode: ReadMode = ReadMode.RAW) -> FileText:
        target = self._target(path)
        if target not in self.files:
            raise FileMissing(f"{path}: no such file")
        data = self.files[target]
        if len(data) > self.max_bytes:
            raise FileTooLarge(
                f"{path}: {len(data)} bytes is over the {self.max_bytes}-byte size cap"
            )
        if b"\x00" in data[:8192]:
            raise BinaryFile(f"{path}: binary file refused")
        self.counts[mode] += len(data)
        try:
            text, lossy = data.decode("utf-8"), False
        except UnicodeDecodeError:
            text, lossy = data.decode("utf-8", errors="replace"), True
        return FileText(path, text, len(data), hashlib.sha256(data).hexdigest(), lossy)

    def stat(self, path: str) -> FileEntry | None:
        try:
            target = self._target(path)
        except PathOutsideSegment:
            return None
        if target not in self.files:
            return None
        return FileEntry(path, len(self.files[target]), self.mtimes.get(target, 1))

    def stamps(self, paths: Sequence[str]) -> list[tuple[int, int] | None]:
        self.stamp_calls += 1
        if self.on_stamps is not None:
            self.on_stamps()
        entries = [self.stat(p) for p in paths]
        return [None if e is None else (e.size, e.mtime_ns) for e in entries]

    def list_files(
        self, include: Sequence[str], exclude: Sequence[str] = ()
    ) -> tuple[list[FileEntry], list[SkippedFile]]:
        def matches(pattern: str, path: str) -> bool:
            rx = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
            return re.fullmatch(rx, path) is not None

        entries: list[FileEntry] = []
        skipped: list[SkippedFile] = []
        for path in sorted(set(self.files) | set(self.symlinks)):
            if not any(matches(p, path) for p in include) or any(matches(p, path) for p in exclude):
                continue
            entry = self.stat(path)
            if entry is None:
                skipped.append(SkippedFile(path, "symlink leaves the segment"))
            elif entry.size > self.max_bytes:
                skipped.append(SkippedFile(path, "over the size cap"))
            else:
                entries.append(entry)
        return entries, skipped

    def bytes_read(self) -> Mapping[ReadMode, int]:
        return dict(self.counts)


class FakeChangeFeed(ChangeFeed):
    """A ``ChangeFeed`` told what happened: ``touch()`` is an event, ``broken`` a feed that
    cannot watch, ``complete`` a file system that reports every write. Records what it was
    armed on."""

    def __init__(self, complete: bool = False) -> None:
        self.pending = False
        self.broken = False
        self.armed: list[list[str]] = []
        self.closed = False
        self._complete = complete

    @property
    def complete(self) -> bool:
        return self._complete

    def touch(self) -> None:
        self.pending = True

    def arm(self, directories: Sequence[str]) -> bool:
        self.armed.append(list(directories))
        return not self.broken

    def changed(self) -> bool:
        moved = self.pending or self.broken or not self.armed
        self.pending = False
        return moved

    def close(self) -> None:
        self.closed = True
