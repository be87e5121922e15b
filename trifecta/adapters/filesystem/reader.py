"""``LocalFileReader``: the segment's files, read confined, counted per read mode."""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from collections.abc import Mapping, Sequence
from pathlib import Path

from trifecta.adapters.filesystem.globs import (
    BadGlob,
    IgnoreRule,
    glob_match,
    glob_regex,
    is_ignored,
    parse_gitignore,
)
from trifecta.domain.errors import (
    BinaryFile,
    ConfigError,
    FileMissing,
    FileTooLarge,
    InputError,
    PathOutsideSegment,
    UsageError,
)
from trifecta.domain.model import FileEntry, FileText, ReadMode, SkippedFile
from trifecta.domain.ports import FileReader

# Never listed, whatever .gitignore says: VCS data, our own state, environments, caches.
ALWAYS_SKIPPED_DIRS = frozenset(
    {
        ".git",
        "_ctx",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".hg",
        ".svn",
    }
)
BINARY_SNIFF_BYTES = 8192
NEVER_READ_DIR = ".git"


def looks_binary(data: bytes) -> bool:
    """A NUL byte in the first 8 KiB marks a file as binary (git's own heuristic)."""

    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def utf8_name(name: str) -> bool:
    """A file name Python decoded from bytes that are not UTF-8 holds lone surrogates
    (``surrogateescape``); such a name cannot be stored in a pack, JSON or telemetry."""

    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_name(name: str) -> str:
    """A non-UTF-8 name with its undecodable bytes shown as ``\\xff`` (for a skip reason)."""

    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


NOT_UTF8_REASON = "file name is not valid UTF-8"


def _symlink_reason(error: PathOutsideSegment) -> str:
    if str(error).endswith(f"into {NEVER_READ_DIR}/"):
        return f"symlink leads into {NEVER_READ_DIR}/"
    return "symlink leaves the segment"


def _cwd_relative(user_path: str) -> bool:
    """``./x``, ``../x``, ``.`` and ``..`` name paths from the current directory."""

    return user_path in (".", "..") or user_path.startswith(("./", "../"))


class LocalFileReader(FileReader):
    def __init__(self, root: Path, max_bytes: int = 2 * 1024 * 1024) -> None:
        self.root = root.resolve()
        self.max_bytes = max_bytes
        self._bytes: dict[ReadMode, int] = {mode: 0 for mode in ReadMode}
        self._confined_dirs: dict[str, str] = {}

    # ---- paths ---------------------------------------------------------------------------

    def _confine(self, rel: str) -> Path:
        candidate = self.root / rel
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError) as e:  # symlink loops
            raise PathOutsideSegment(f"{rel}: cannot resolve path ({e})") from e
        if resolved != self.root and not resolved.is_relative_to(self.root):
            raise PathOutsideSegment(f"{rel}: path leaves the segment")
        if NEVER_READ_DIR in resolved.relative_to(self.root).parts:
            # git's own data (config with credentials, objects) is never served, whether
            # named directly or reached through a symlink.
            raise PathOutsideSegment(f"{rel}: path leads into {NEVER_READ_DIR}/")
        return resolved

    def relative(self, user_path: str) -> str:
        if not utf8_name(user_path):
            raise UsageError(f"{printable_name(user_path)}: path is not valid UTF-8")
        given = Path(user_path)
        if given.is_absolute():
            chosen = given
        elif _cwd_relative(user_path):
            chosen = Path.cwd() / given
        else:
            in_segment = self.root / given
            chosen = in_segment if os.path.lexists(in_segment) else Path.cwd() / given
        normal = Path(os.path.normpath(chosen))
        if normal != self.root and not normal.is_relative_to(self.root):
            raise PathOutsideSegment(f"{user_path}: path is outside the segment")
        rel = normal.relative_to(self.root).as_posix()
        rel = "" if rel == "." else rel
        self._confine(rel)
        return rel

    def is_dir(self, path: str) -> bool:
        try:
            return self._confine(path).is_dir()
        except (OSError, PathOutsideSegment):
            return False

    # ---- reads ---------------------------------------------------------------------------

    def read_text(self, path: str, mode: ReadMode = ReadMode.RAW) -> FileText:
        real = self._confine(path)
        try:
            data = self._read_regular(path, real)
        except FileNotFoundError as e:
            raise FileMissing(f"{path}: no such file") from e
        except PermissionError as e:
            raise InputError(f"{path}: permission denied") from e
        except IsADirectoryError as e:
            raise InputError(f"{path}: is a directory") from e
        except OSError as e:
            raise InputError(f"{path}: cannot read ({e.strerror})") from e
        if looks_binary(data):
            raise BinaryFile(f"{path}: binary file refused")
        self._bytes[mode] += len(data)
        try:
            text, lossy = data.decode("utf-8"), False
        except UnicodeDecodeError:
            text, lossy = data.decode("utf-8", errors="replace"), True
        return FileText(
            path=path,
            text=text,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            lossy=lossy,
        )

    def _read_regular(self, path: str, real: Path) -> bytes:
        """The bytes of a regular file, at most the size cap: opened non-blocking (a FIFO
        never blocks the open), checked with ``fstat`` on the descriptor (no race with a
        swap after the check), and read bounded (a device or a growing file never reads
        past the cap)."""

        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        try:
            st = os.fstat(fd)
            if stat_module.S_ISDIR(st.st_mode):
                raise InputError(f"{path}: is a directory")
            if not stat_module.S_ISREG(st.st_mode):
                raise InputError(f"{path}: not a regular file")
            if st.st_size > self.max_bytes:
                raise FileTooLarge(
                    f"{path}: {st.st_size} bytes is over the {self.max_bytes}-byte size cap"
                )
            os.set_blocking(fd, True)
            chunks: list[bytes] = []
            left = self.max_bytes + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if len(data) > self.max_bytes:
            raise FileTooLarge(f"{path}: grew over the {self.max_bytes}-byte size cap while read")
        return data

    def stat(self, path: str) -> FileEntry | None:
        try:
            st = self._stat_confined(path)
        except (OSError, PathOutsideSegment):
            return None
        return FileEntry(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns)

    def _stat_confined(self, rel: str) -> os.stat_result:
        """``stat`` of a confined path, cheap enough to call on every file of a pack: the
        directory is resolved once per reader (cached), the file itself with one
        ``lstat``; only a symlink takes the full resolve."""

        parent, _, name = rel.rpartition("/")
        if not name or name in (".", "..") or "\\" in rel:
            return self._confine(rel).stat()
        base = self._confined_dirs.get(parent)
        if base is None:
            base = str(self._confine(parent))
            self._confined_dirs[parent] = base
        full = os.path.join(base, name)
        st = os.lstat(full)
        if stat_module.S_ISLNK(st.st_mode):
            return self._confine(rel).stat()
        return st

    def stamps(self, paths: Sequence[str]) -> list[tuple[int, int] | None]:
        """``stat`` of many paths, the same answers for less: a directory is known to be
        inside the segment when ``lstat`` shows a real directory (not a symlink) whose
        parent is (the root is), so each directory costs one ``lstat`` per call (none when
        it was stamped itself earlier in ``paths``: give directories first, parents before
        children) and each file one ``lstat``. Anything else (a symlink, ``..``, ``.git``)
        takes the full resolve of ``stat``."""

        inside: dict[str, str | None] = {"": str(self.root)}  # per call: no stale answers
        lstat = os.lstat
        is_dir, is_link = stat_module.S_ISDIR, stat_module.S_ISLNK
        out: list[tuple[int, int] | None] = []
        for path in paths:
            parent, _, name = path.rpartition("/")
            base = inside[parent] if parent in inside else self._inside_dir(parent, inside)
            if base is None or not name or name in (".", "..", NEVER_READ_DIR) or "\\" in path:
                entry = self.stat(path)
                out.append(None if entry is None else (entry.size, entry.mtime_ns))
                continue
            full = base + "/" + name
            try:
                st = lstat(full)
            except OSError:
                out.append(None)
                continue
            if is_link(st.st_mode):
                entry = self.stat(path)
                out.append(None if entry is None else (entry.size, entry.mtime_ns))
                continue
            if is_dir(st.st_mode):
                inside[path] = full
            out.append((st.st_size, st.st_mtime_ns))
        return out

    def _inside_dir(self, rel: str, inside: dict[str, str | None]) -> str | None:
        """The absolute path of the segment directory ``rel`` when each of its components
        is a real directory (one ``lstat`` each, memoised in ``inside``), else None."""

        parent, _, name = rel.rpartition("/")
        base = inside[parent] if parent in inside else self._inside_dir(parent, inside)
        found: str | None = None
        if base is not None and name not in ("", ".", "..", NEVER_READ_DIR) and "\\" not in name:
            full = base + "/" + name
            try:
                if stat_module.S_ISDIR(os.lstat(full).st_mode):
                    found = full
            except OSError:
                pass
        inside[rel] = found
        return found

    def bytes_read(self) -> Mapping[ReadMode, int]:
        return dict(self._bytes)

    # ---- listing -------------------------------------------------------------------------

    def _load_gitignore(
        self, directory: Path, base: str, skipped: list[SkippedFile]
    ) -> list[IgnoreRule]:
        path = directory / ".gitignore"
        try:
            if not stat_module.S_ISREG(path.lstat().st_mode):
                return []  # absent, or a FIFO/device/symlink: never opened
            text = self._read_regular(str(path), path).decode("utf-8", errors="replace")
        except (OSError, InputError):
            return []
        bad: list[tuple[int, str]] = []
        rules = parse_gitignore(text, base, bad)
        where = f"{base}/.gitignore" if base else ".gitignore"
        skipped.extend(
            SkippedFile(f"{where}:{line}", f"pattern {why}; git never matches it, ignored")
            for line, why in bad
        )
        return rules

    def list_files(
        self, include: Sequence[str], exclude: Sequence[str] = ()
    ) -> tuple[list[FileEntry], list[SkippedFile]]:
        for pattern in (*include, *exclude):
            try:
                glob_regex(pattern)
            except BadGlob as e:
                raise ConfigError(f"invalid glob in files.include/files.exclude: {e}") from e
        entries: list[FileEntry] = []
        skipped: list[SkippedFile] = []
        rules_by_dir: dict[str, list[IgnoreRule]] = {
            "": self._load_gitignore(self.root, "", skipped)
        }
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(dirpath)
            base = here.relative_to(self.root).as_posix()
            base = "" if base == "." else base
            rules = rules_by_dir.get(base, [])
            kept_dirs = []
            for name in sorted(dirnames):
                rel = f"{base}/{name}" if base else name
                if name in ALWAYS_SKIPPED_DIRS:
                    # Only an include glob naming it explicitly (``_ctx/prime_*.md``) opens
                    # an always-skipped directory, and only for the files right inside it.
                    explicit = [
                        p
                        for p in include
                        if p.startswith(rel + "/") and "/" not in p[len(rel) + 1 :]
                    ]
                    if explicit:
                        self._list_explicit(here / name, rel, explicit, entries, skipped)
                    continue
                if is_ignored(rules, rel, True):
                    continue
                if not utf8_name(name):
                    skipped.append(SkippedFile(printable_name(rel) + "/", NOT_UTF8_REASON))
                    continue
                if (here / name).is_symlink():
                    try:
                        self._confine(rel)
                    except PathOutsideSegment as e:
                        skipped.append(SkippedFile(rel, _symlink_reason(e)))
                    continue
                kept_dirs.append(name)
                rules_by_dir[rel] = rules + self._load_gitignore(here / name, rel, skipped)
            dirnames[:] = kept_dirs
            for name in sorted(filenames):
                rel = f"{base}/{name}" if base else name
                if not any(glob_match(p, rel) for p in include):
                    continue
                if any(glob_match(p, rel) for p in exclude) or is_ignored(rules, rel, False):
                    continue
                if not utf8_name(name):
                    skipped.append(SkippedFile(printable_name(rel), NOT_UTF8_REASON))
                    continue
                entry_or_skip = self._entry(rel, here / name)
                if isinstance(entry_or_skip, SkippedFile):
                    skipped.append(entry_or_skip)
                else:
                    entries.append(entry_or_skip)
        entries.sort(key=lambda e: e.path)
        skipped.sort(key=lambda s: s.path)
        return entries, skipped

    def _list_explicit(
        self,
        directory: Path,
        base: str,
        include: Sequence[str],
        entries: list[FileEntry],
        skipped: list[SkippedFile],
    ) -> None:
        if directory.is_symlink():
            return
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            rel = f"{base}/{name}"
            if not any(glob_match(p, rel) for p in include):
                continue
            if not utf8_name(name):
                skipped.append(SkippedFile(printable_name(rel), NOT_UTF8_REASON))
                continue
            entry_or_skip = self._entry(rel, directory / name)
            if isinstance(entry_or_skip, SkippedFile):
                skipped.append(entry_or_skip)
            else:
                entries.append(entry_or_skip)

    def _entry(self, rel: str, path: Path) -> FileEntry | SkippedFile:
        if path.is_symlink():
            try:
                self._confine(rel)
            except PathOutsideSegment as e:
                return SkippedFile(rel, _symlink_reason(e))
        try:
            st = path.stat()
        except OSError as e:
            return SkippedFile(rel, f"cannot stat ({e.strerror})")
        if not path.is_file():
            return SkippedFile(rel, "not a regular file")
        if st.st_size > self.max_bytes:
            return SkippedFile(
                rel, f"{st.st_size} bytes is over the {self.max_bytes}-byte size cap"
            )
        return FileEntry(path=rel, size=st.st_size, mtime_ns=st.st_mtime_ns)
