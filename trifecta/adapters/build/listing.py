"""``LocalSegmentLister``: a segment's files under the ignore rules git applies.

Inside a git work tree the candidates are ``git ls-files -z --cached --others
--exclude-standard`` run in the segment (one subprocess: tracked files plus untracked ones
not ignored by any ``.gitignore``, ``.git/info/exclude`` or ``core.excludesFile``); ignored
directories come from one more ``git ls-files --others --ignored --exclude-standard
--directory``. Outside git (or when ``git`` fails) the tree is walked with the
``.gitignore`` files found in the segment. Either way the segment's own ``files.include`` /
``files.exclude`` globs apply, then ``files.skip_dirs`` (directory names never listed) and
any directory holding ``pyvenv.cfg`` (a virtual environment, whatever its name). Every
skipped file and directory is reported with its reason, except ``.git``/``.hg``/``.svn``
and ``_ctx`` (version-control data and trifecta's own state, never segment content);
``_ctx/`` files named by an include glob (``_ctx/prime_*.md``) are still listed.
"""

from __future__ import annotations

import os
import stat as stat_module
import subprocess
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

from trifecta.adapters.filesystem.globs import (
    BadGlob,
    IgnoreRule,
    glob_match,
    glob_regex,
    is_ignored,
    parse_gitignore,
)
from trifecta.adapters.filesystem.reader import (
    NEVER_READ_DIR,
    NOT_UTF8_REASON,
    printable_name,
    utf8_name,
)
from trifecta.domain.errors import ConfigError
from trifecta.domain.listing import SegmentLister, SegmentListing
from trifecta.domain.model import FileEntry, SkippedFile
from trifecta.domain.packs import DirStamp

DEFAULT_SKIP_DIRS: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    "_ctx",
    ".venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".tox",
)
UNREPORTED = frozenset({".git", ".hg", ".svn", "_ctx"})
OWN_STATE = "_ctx"
GIT_TIMEOUT_S = 30.0
SKIP_REASON = "directory name in files.skip_dirs"
VENV_REASON = "virtual environment (holds pyvenv.cfg)"


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _ancestors(path: str) -> Iterable[str]:
    """The directories above ``path``, nearest first, ending with the root ``""``."""

    parent = _parent(path)
    while parent:
        yield parent
        parent = _parent(parent)
    yield ""


def _check_globs(include: Sequence[str], exclude: Sequence[str]) -> None:
    for pattern in (*include, *exclude):
        try:
            glob_regex(pattern)
        except BadGlob as e:
            raise ConfigError(f"invalid glob in files.include/files.exclude: {e}") from e


def _in_git_work_tree(root: Path) -> bool:
    return any((folder / ".git").exists() for folder in (root, *root.parents))


class LocalSegmentLister(SegmentLister):
    def __init__(
        self,
        root: Path,
        max_bytes: int = 2 * 1024 * 1024,
        skip_dirs: Sequence[str] = DEFAULT_SKIP_DIRS,
        use_git: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes
        self.skip_dirs = frozenset((*skip_dirs, *UNREPORTED))
        self.use_git = use_git and _in_git_work_tree(self.root)

    # ---- the port ------------------------------------------------------------------------

    def check_patterns(self, include: Sequence[str], exclude: Sequence[str]) -> None:
        _check_globs(include, exclude)

    def list_segment(self, include: Sequence[str], exclude: Sequence[str]) -> SegmentListing:
        _check_globs(include, exclude)
        listed = self._git(()) if self.use_git else None
        if listed is None:
            return self._walk([""], lambda _d: True, include, exclude)
        return self._from_paths(listed, self._git_ignored(()), include, exclude, None, ())

    def list_changed(
        self,
        directories: Sequence[str],
        known: Collection[str],
        include: Sequence[str],
        exclude: Sequence[str],
    ) -> SegmentListing:
        _check_globs(include, exclude)
        directories = [d for d in directories if self._is_dir(d)]
        if not directories:
            return SegmentListing((), (), ())
        known_set = set(known)
        listed = self._git(directories) if self.use_git else None
        if listed is None:
            return self._walk(directories, lambda d: d not in known_set, include, exclude)
        ignored = self._git_ignored(directories)
        return self._from_paths(listed, ignored, include, exclude, known_set, directories)

    # ---- git -----------------------------------------------------------------------------

    def _run_git(self, args: Sequence[str], paths: Sequence[str]) -> list[str] | None:
        # No pathspec lists the whole segment (ls-files stays under its working directory);
        # "." would let --directory collapse an untracked segment into one "./" entry.
        spec = [] if not paths or "" in paths else [p + "/" for p in paths]
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
        try:
            proc = subprocess.run(
                ["git", "ls-files", "-z", *args, *(["--", *spec] if spec else [])],
                cwd=self.root,
                env=env,
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode != 0:
            return None
        return [p for p in proc.stdout.decode("utf-8", errors="surrogateescape").split("\0") if p]

    def _git(self, paths: Sequence[str]) -> list[str] | None:
        listed = self._run_git(("--cached", "--others", "--exclude-standard"), paths)
        return None if listed is None else sorted(set(listed))

    def _git_ignored(self, paths: Sequence[str]) -> list[str]:
        args = ("--others", "--ignored", "--exclude-standard", "--directory")
        return self._run_git(args, paths) or []

    def _from_paths(
        self,
        paths: list[str],
        ignored: list[str],
        include: Sequence[str],
        exclude: Sequence[str],
        known: set[str] | None,
        changed: Sequence[str],
    ) -> SegmentListing:
        """The listing from git's file list; with ``known`` (a partial listing) only the
        files right inside ``changed`` or inside directories not in ``known``."""

        wanted = set(changed)

        def in_scope(directory: str) -> bool:
            return known is None or directory in wanted or directory not in known

        files: list[FileEntry] = []
        skipped: dict[str, str] = {}
        dirs: set[str] = set(wanted) if known is not None else {""}
        verdicts: dict[str, str | None] = {"": None}
        if known is None:
            self._rules("", skipped)  # notes of the root .gitignore's lines git never matches
        for path in paths:
            if not utf8_name(path):
                if any(glob_match(p, printable_name(path)) for p in include):
                    skipped[printable_name(path)] = NOT_UTF8_REASON
                continue
            parent = _parent(path)
            reason_dir = self._dir_verdict(parent, verdicts)
            if reason_dir is not None:
                top, reason = reason_dir.split("\0", 1)
                if top.rpartition("/")[2] not in UNREPORTED and in_scope(_parent(top)):
                    skipped.setdefault(top + "/", reason)
                continue
            if not in_scope(parent):
                continue
            for directory in (parent, *_ancestors(parent)) if parent else ():
                if known is not None and directory in known and directory not in wanted:
                    break
                dirs.add(directory)
            self._consider(path, include, exclude, files, skipped)
        for path in ignored:
            bare = path.rstrip("/")
            if not in_scope(_parent(bare)):
                continue
            if path.endswith("/"):
                if bare.rpartition("/")[2] not in UNREPORTED:
                    skipped.setdefault(path, "ignored by git")
            elif any(glob_match(p, bare) for p in include):
                skipped.setdefault(bare, "ignored by git")
        self._explicit_own_state(include, files, skipped, known, wanted)
        return self._listing(files, skipped, dirs)

    def _dir_verdict(self, directory: str, verdicts: dict[str, str | None]) -> str | None:
        """``None`` if ``directory`` is listed, else ``"<skipped dir>\\0<reason>"``."""

        if directory in verdicts:
            return verdicts[directory]
        parent, _, name = directory.rpartition("/")
        verdict = self._dir_verdict(parent, verdicts)
        if verdict is None:
            reason = self._skip_reason(directory, name)
            verdict = None if reason is None else f"{directory}\0{reason}"
        verdicts[directory] = verdict
        return verdict

    def _skip_reason(self, rel: str, name: str) -> str | None:
        if name in self.skip_dirs:
            return SKIP_REASON
        if os.path.isfile(self.root / rel / "pyvenv.cfg"):
            return VENV_REASON
        return None

    # ---- walk (outside git) --------------------------------------------------------------

    def _gitignore(self, folder: str, notes: dict[str, str] | None) -> list[IgnoreRule]:
        """The rules of ``folder``'s ``.gitignore``: a regular file only (a FIFO, a device
        or a symlink there is never opened), read up to the size cap; a line git never
        matches (``[z-a]``) is left out with a note in ``notes``."""

        path = self.root / folder / ".gitignore"
        try:
            if not stat_module.S_ISREG(path.lstat().st_mode):
                return []
            with path.open("rb") as handle:
                text = handle.read(self.max_bytes).decode("utf-8", errors="replace")
        except OSError:
            return []
        bad: list[tuple[int, str]] = []
        rules = parse_gitignore(text, folder, bad)
        if notes is not None:
            where = f"{folder}/.gitignore" if folder else ".gitignore"
            for line, why in bad:
                notes[f"{where}:{line}"] = f"pattern {why}; git never matches it, ignored"
        return rules

    def _rules(self, directory: str, notes: dict[str, str] | None = None) -> list[IgnoreRule]:
        """The ``.gitignore`` rules in force in ``directory`` (root down to it)."""

        rules: list[IgnoreRule] = []
        chain = [*reversed(list(_ancestors(directory)))] + ([directory] if directory else [])
        for folder in chain:
            rules.extend(self._gitignore(folder, notes if folder == directory else None))
        return rules

    def _walk(
        self,
        starts: Sequence[str],
        descend: Callable[[str], bool],
        include: Sequence[str],
        exclude: Sequence[str],
    ) -> SegmentListing:
        files: list[FileEntry] = []
        skipped: dict[str, str] = {}
        dirs: set[str] = set()
        todo = [(d, self._rules(d, skipped)) for d in starts]
        while todo:
            base, rules = todo.pop()
            dirs.add(base)
            try:
                with os.scandir(self.root / base) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                rel = _join(base, entry.name)
                if not utf8_name(entry.name):
                    if entry.is_dir(follow_symlinks=False):
                        skipped[printable_name(rel) + "/"] = NOT_UTF8_REASON
                    elif any(glob_match(p, printable_name(rel)) for p in include):
                        skipped[printable_name(rel)] = NOT_UTF8_REASON
                    continue
                if entry.is_dir(follow_symlinks=False):
                    reason = self._skip_reason(rel, entry.name)
                    if reason is None and is_ignored(rules, rel, True):
                        reason = "ignored by .gitignore"
                    if reason is not None:
                        if entry.name not in UNREPORTED:
                            skipped[rel + "/"] = reason
                        continue
                    if descend(rel):
                        todo.append((rel, rules + self._gitignore(rel, skipped)))
                    continue
                if entry.is_symlink() and self._is_dir(rel):
                    if any(glob_match(p, rel) for p in include):
                        skipped[rel] = "symlink to a directory (not followed)"
                    continue
                if any(glob_match(p, rel) for p in include) and is_ignored(rules, rel, False):
                    skipped[rel] = "ignored by .gitignore"
                    continue
                self._consider(rel, include, exclude, files, skipped)
        self._explicit_own_state(include, files, skipped, None, set(starts))
        return self._listing(files, skipped, dirs)

    # ---- one file ------------------------------------------------------------------------

    def _consider(
        self,
        rel: str,
        include: Sequence[str],
        exclude: Sequence[str],
        files: list[FileEntry],
        skipped: dict[str, str],
    ) -> None:
        if not any(glob_match(p, rel) for p in include):
            return
        if any(glob_match(p, rel) for p in exclude):
            skipped[rel] = "matches files.exclude"
            return
        full = self.root / rel
        try:
            st = os.lstat(full)
            if stat_module.S_ISLNK(st.st_mode):
                resolved = full.resolve()
                if resolved != self.root and not resolved.is_relative_to(self.root):
                    skipped[rel] = "symlink leaves the segment"
                    return
                if NEVER_READ_DIR in resolved.relative_to(self.root).parts:
                    skipped[rel] = "symlink leads into .git/"
                    return
                st = os.stat(full)
        except (OSError, RuntimeError) as e:
            if isinstance(e, FileNotFoundError):
                return  # deleted since git listed it
            skipped[rel] = f"cannot stat ({getattr(e, 'strerror', None) or e})"
            return
        if not stat_module.S_ISREG(st.st_mode):
            skipped[rel] = "not a regular file"
        elif st.st_size > self.max_bytes:
            skipped[rel] = f"{st.st_size} bytes is over the {self.max_bytes}-byte size cap"
        else:
            files.append(FileEntry(rel, st.st_size, st.st_mtime_ns))

    def _explicit_own_state(
        self,
        include: Sequence[str],
        files: list[FileEntry],
        skipped: dict[str, str],
        known: set[str] | None,
        wanted: set[str],
    ) -> None:
        """Files right inside ``_ctx/`` named by an include glob (the meta files)."""

        if known is not None and "" not in wanted:
            return
        explicit = [
            p
            for p in include
            if p.startswith(OWN_STATE + "/") and "/" not in p[len(OWN_STATE) + 1 :]
        ]
        if not explicit or (self.root / OWN_STATE).is_symlink():
            return
        try:
            names = sorted(os.listdir(self.root / OWN_STATE))
        except OSError:
            return
        seen = {f.path for f in files}
        for name in names:
            rel = f"{OWN_STATE}/{name}"
            if rel not in seen and any(glob_match(p, rel) for p in explicit):
                self._consider(rel, explicit, (), files, skipped)

    # ---- helpers -------------------------------------------------------------------------

    def _is_dir(self, rel: str) -> bool:
        return os.path.isdir(self.root / rel) if rel else True

    def _listing(
        self, files: list[FileEntry], skipped: dict[str, str], dirs: set[str]
    ) -> SegmentListing:
        stamps = []
        for directory in sorted(dirs):
            if directory == OWN_STATE or directory.startswith(OWN_STATE + "/"):
                continue
            try:
                mtime = os.stat(self.root / directory).st_mtime_ns
            except OSError:
                continue
            stamps.append(DirStamp(directory, mtime))
        listed = {f.path for f in files}
        return SegmentListing(
            tuple(sorted(files, key=lambda f: f.path)),
            tuple(SkippedFile(p, r) for p, r in sorted(skipped.items()) if p not in listed),
            tuple(stamps),
        )
