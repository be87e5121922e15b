"""``JsonPackStore``: the pack as one JSON file, replaced atomically under an flock."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from trifecta.domain.errors import LockTimeout, PackCorrupt, PackMissing
from trifecta.domain.packs import Pack, pack_from_dict, pack_to_dict
from trifecta.domain.ports import BeforeCommit, PackStore

PACK_FILE = "context_pack.json"
LOCK_FILE = ".context_pack.lock"
POLL_S = 0.02


class JsonPackStore(PackStore):
    def __init__(self, root: Path) -> None:
        self.ctx_dir = Path(root) / "_ctx"
        self.path = self.ctx_dir / PACK_FILE

    def load(self) -> Pack:
        return self.load_with_sha()[0]

    def load_with_sha(self) -> tuple[Pack, str]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError as e:
            raise PackMissing("no context pack, run ctx build") from e
        except OSError as e:
            raise PackCorrupt(f"pack is unreadable ({e.strerror}), run ctx build") from e
        try:
            parsed = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PackCorrupt("pack is corrupt, run ctx build") from e
        return pack_from_dict(parsed), hashlib.sha256(data).hexdigest()

    def save(self, pack: Pack, before_commit: BeforeCommit | None = None) -> str:
        """Write aside, fsync, let ``before_commit`` (the index) see the final sha and
        stamp, then rename over the pack: os.replace keeps the inode's size and mtime."""

        data = json.dumps(pack_to_dict(pack), ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )
        self.ctx_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.ctx_dir / f".{PACK_FILE}.{os.getpid()}.tmp"
        try:
            with tmp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            sha = hashlib.sha256(data).hexdigest()
            if before_commit is not None:
                st = tmp.stat()
                before_commit(sha, (st.st_size, st.st_mtime_ns))
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return sha

    def stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    @contextlib.contextmanager
    def lock(self, timeout_ms: int) -> Iterator[None]:
        self.ctx_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_ms / 1000
        with (self.ctx_dir / LOCK_FILE).open("a") as handle:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(
                            f"another build holds the pack lock (waited {timeout_ms} ms)"
                        ) from None
                    time.sleep(POLL_S)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
