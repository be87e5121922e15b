"""``JsonlTelemetrySink``: telemetry in ``<segment>/_ctx/telemetry/`` that loses nothing.

Files::

    events.jsonl, events.1.jsonl, events.2.jsonl   events, newest file first (rotation)
    metrics.json                                   cumulative counters of all runs
    last_run.json                                  summary of the last run
    .lock                                          the flock every writer takes
    spool/<pid>-<ns>-<n>.jsonl                     events waiting for the lock
    spool/<pid>-<ns>-<n>.counters.json             counter deltas waiting for the lock

Every append is one ``os.write`` of complete lines on an ``O_APPEND`` descriptor while the
process holds an exclusive ``flock`` on ``.lock`` (a file never renamed, so rotation cannot
split the lock). The lock is polled with ``LOCK_NB`` and short sleeps up to
``lock_timeout_ms``; if it cannot be had in time the lines go to a spool file (written to a
temporary name and renamed, so it is whole or absent) which the next writer drains under the
lock. Rotation is decided under the lock after re-reading the current file's size.
``metrics.json`` is merged under the same lock (read, add, write a temporary file, rename;
deltas that cannot get the lock within 10 s are spooled and added by the next merge);
``last_run.json`` is replaced by rename. A telemetry directory that cannot be written
disables the sink with one warning on stderr: telemetry never fails a command.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from trifecta.domain.ports import TelemetrySink

EVENTS = "events.jsonl"
ROTATED = ("events.1.jsonl", "events.2.jsonl")
METRICS = "metrics.json"
LAST_RUN = "last_run.json"
LOCK = ".lock"
SPOOL = "spool"
DEFAULT_ROTATE_BYTES = 5 * 1024 * 1024
DEFAULT_LOCK_TIMEOUT_MS = 2000
COUNTERS = ".counters.json"
COUNTER_WAIT_NS = 10_000_000_000
STALE_TMP_S = 60

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def encode_lines(records: Sequence[Mapping[str, Any]]) -> bytes:
    """Records as JSON lines (one per record, each ending in a newline), always valid
    UTF-8: a lone surrogate (a non-UTF-8 byte a path or argument carried) becomes ``?``."""

    return "".join(_dumps(r) + "\n" for r in records).encode("utf-8", "replace")


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The records in ``data`` and the number of lines skipped (a torn final line, or a
    line that is not a JSON object)."""

    records: list[dict[str, Any]] = []
    skipped = 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()  # a final line without its newline was cut short by a crash
        skipped += 1
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            skipped += 1
    return records, skipped


def _warn_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


class JsonlTelemetrySink(TelemetrySink):
    """The ``TelemetrySink`` port on JSONL files in ``directory``."""

    def __init__(
        self,
        directory: str | Path,
        rotate_bytes: int = DEFAULT_ROTATE_BYTES,
        lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
        fsync: bool = False,
        warn: Callable[[str], None] = _warn_stderr,
    ) -> None:
        self.dir = Path(directory)
        self.rotate_bytes = max(1, int(rotate_bytes))
        self.lock_timeout_ns = max(0, int(lock_timeout_ms)) * 1_000_000
        self.fsync = fsync
        self._warn = warn
        self._events_path = str(self.dir / EVENTS)
        self._spool_dir = str(self.dir / SPOOL)
        self._thread_lock = threading.Lock()
        self._pid = -1
        self._lock_fd = -1
        self._events_fd = -1
        self._events_ino = -1
        self._spool_seq = 0
        self.disabled = False
        self.events_written = 0
        self.events_spooled = 0
        self.spool_drained = 0
        self.lock_timeouts = 0
        self.rotations = 0
        self.max_lock_wait_ns = 0
        self.read_skipped = 0

    # ---- setup and failure -------------------------------------------------------------------

    def _disable(self, error: OSError) -> None:
        if not self.disabled:
            self.disabled = True
            reason = error.strerror or type(error).__name__
            self._warn(
                f"trifecta: warning: telemetry disabled: cannot write _ctx/telemetry: {reason}"
            )
        self._close()

    def _close(self) -> None:
        for fd in (self._events_fd, self._lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._events_fd = self._lock_fd = -1
        self._events_ino = -1

    def _ensure_open(self) -> None:
        """Open the lock file (once per process; again after a fork)."""

        pid = os.getpid()
        if self._pid == pid and self._lock_fd >= 0:
            return
        if self._pid != pid:
            # After a fork the descriptors are shared with the parent, and so would the flock
            # be: open our own (closing the inherited copies releases nothing of the parent's).
            self._close()
            self._pid = pid
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    # ---- the lock ----------------------------------------------------------------------------

    def _acquire(self, timeout_ns: int | None = None) -> bool:
        fd = self._lock_fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        start = time.perf_counter_ns()
        deadline = start + (self.lock_timeout_ns if timeout_ns is None else timeout_ns)
        pause = 0.0001
        while True:
            now = time.perf_counter_ns()
            if now >= deadline:
                self._note_wait(now - start)
                self.lock_timeouts += 1
                return False
            time.sleep(min(pause, (deadline - now) / 1e9))
            pause = min(pause * 2, 0.005)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self._note_wait(time.perf_counter_ns() - start)
            return True

    def _note_wait(self, waited_ns: int) -> None:
        if waited_ns > self.max_lock_wait_ns:
            self.max_lock_wait_ns = waited_ns

    def _release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # ---- appending (called with the lock held) -----------------------------------------------

    def _events_fd_for(self, incoming: int) -> int:
        """The descriptor of the current ``events.jsonl``, rotating first if ``incoming``
        bytes would take it past the limit."""

        try:
            st = os.stat(self._events_path)
        except FileNotFoundError:
            st = None
        if st is not None and st.st_size > 0 and st.st_size + incoming > self.rotate_bytes:
            self._rotate()
            st = None
        if st is None or st.st_ino != self._events_ino or self._events_fd < 0:
            if self._events_fd >= 0:
                os.close(self._events_fd)
                self._events_fd = -1
            fd = os.open(
                self._events_path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
            self._events_fd = fd
            st = os.fstat(fd)
            self._events_ino = st.st_ino
            if st.st_size > 0 and os.pread(fd, 1, st.st_size - 1) != b"\n":
                # A line cut short by a crash (power loss): end it, so our record stays whole.
                os.write(fd, b"\n")
        return self._events_fd

    def _rotate(self) -> None:
        one = os.path.join(self.dir, ROTATED[0])
        two = os.path.join(self.dir, ROTATED[1])
        with contextlib.suppress(FileNotFoundError):
            os.replace(one, two)  # the oldest (.2) is dropped
        os.replace(self._events_path, one)
        self.rotations += 1

    def _write_all(self, data: bytes) -> None:
        """Append whole lines or nothing: a write cut short (disk full) is truncated back to
        where it started, so no torn fragment stays in the file (the lock is held)."""

        fd = self._events_fd_for(len(data))
        start = os.lseek(fd, 0, os.SEEK_END)
        view = memoryview(data)
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self.fsync:
                os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise

    def _drain_spool(self) -> None:
        """Append every spooled file to the events and delete it (lock held). The spool
        directory exists only while something is spooled, so the common case is one stat."""

        if not os.access(self._spool_dir, os.F_OK):  # no exception on the common path
            return
        try:
            listing = os.listdir(self._spool_dir)
        except FileNotFoundError:
            return
        self._remove_stale_tmp(self._spool_dir, listing)
        for name in sorted(n for n in listing if n.endswith(".jsonl")):
            path = os.path.join(self._spool_dir, name)
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                continue
            records, _ = parse_lines(data)
            if records:
                self._write_all(encode_lines(records))
                self.spool_drained += len(records)
            os.unlink(path)
        with contextlib.suppress(OSError):  # not empty: a writer is spooling right now
            os.rmdir(self._spool_dir)

    @staticmethod
    def _remove_stale_tmp(directory: str, names: list[str]) -> None:
        """Temporary files of writers killed before their rename (older than a minute;
        a live writer renames its file within microseconds)."""

        limit = time.time() - STALE_TMP_S
        for name in names:
            if not name.endswith(".tmp"):
                continue
            path = os.path.join(directory, name)
            with contextlib.suppress(OSError):
                if os.stat(path).st_mtime < limit:
                    os.unlink(path)

    def _spool(self, data: bytes, count: int, suffix: str = ".jsonl") -> None:
        self._spool_seq += 1
        base = f"{os.getpid()}-{time.time_ns()}-{self._spool_seq}"
        tmp = os.path.join(self._spool_dir, base + ".tmp")
        for attempt in range(10):  # a drainer may remove the empty directory under us
            with contextlib.suppress(FileExistsError):
                os.mkdir(self._spool_dir, 0o755)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                break
            except FileNotFoundError:
                if attempt == 9:
                    raise
        try:
            os.write(fd, data)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(self._spool_dir, base + suffix))
        self.events_spooled += count

    # ---- the port ----------------------------------------------------------------------------

    def append_events(self, records: Sequence[Mapping[str, Any]]) -> None:
        if self.disabled or not records:
            return
        data = encode_lines(records)
        with self._thread_lock:
            try:
                self._ensure_open()
                if not self._acquire():
                    self._spool(data, len(records))
                    return
                try:
                    self._drain_spool()
                    self._write_all(data)
                    self.events_written += len(records)
                finally:
                    self._release()
            except OSError as e:
                self._disable(e)

    def drain(self) -> None:
        """Write any spooled events now (waiting for the lock up to the usual bound)."""

        if self.disabled:
            return
        with self._thread_lock:
            try:
                if not os.path.isdir(self._spool_dir):
                    return
                self._ensure_open()
                if self._acquire():
                    try:
                        self._drain_spool()
                    finally:
                        self._release()
            except OSError as e:
                self._disable(e)

    def _write_json_atomic(self, name: str, document: Mapping[str, Any]) -> None:
        final = self.dir / name
        tmp = self.dir / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        data = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, default=str)
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(data + "\n")
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, final)

    def _load_json(self, name: str) -> dict[str, Any] | None:
        try:
            with open(self.dir / name, encoding="utf-8") as handle:
                value = json.load(handle)
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def _drain_counter_spool(self, merged: dict[str, int]) -> list[str]:
        """Add spooled counter deltas to ``merged`` (lock held); the files to delete once
        the merged counters are safely renamed into place."""

        try:
            names = sorted(n for n in os.listdir(self._spool_dir) if n.endswith(COUNTERS))
        except FileNotFoundError:
            return []
        done = []
        for name in names:
            path = os.path.join(self._spool_dir, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    spooled = json.load(handle)
            except (OSError, ValueError):
                continue
            if isinstance(spooled, dict):
                for key, value in spooled.items():
                    if isinstance(value, int):
                        merged[key] = merged.get(key, 0) + value
            done.append(path)
        return done

    def merge_counters(self, deltas: Mapping[str, int]) -> dict[str, int]:
        if self.disabled:
            return {}
        with self._thread_lock:
            try:
                self._ensure_open()
                # Exactness matters more than latency here: wait at least 10 s, and if the
                # lock still cannot be had, spool the deltas for the next merge.
                if not self._acquire(max(self.lock_timeout_ns, COUNTER_WAIT_NS)):
                    payload = json.dumps({k: int(v) for k, v in deltas.items()})
                    self._spool(payload.encode("utf-8"), 0, COUNTERS)
                    return {}
                try:
                    current = self._load_json(METRICS)
                    if current is None and (self.dir / METRICS).exists():
                        os.replace(self.dir / METRICS, self.dir / f"{METRICS}.corrupt")
                        self._warn(
                            "trifecta: warning: _ctx/telemetry/metrics.json was corrupt; kept as "
                            "metrics.json.corrupt, counters start again"
                        )
                    merged = {k: v for k, v in (current or {}).items() if isinstance(v, int)}
                    for key, value in deltas.items():
                        merged[key] = merged.get(key, 0) + int(value)
                    drained = self._drain_counter_spool(merged)
                    self._remove_stale_tmp(str(self.dir), os.listdir(self.dir))
                    self._write_json_atomic(METRICS, merged)
                    for path in drained:
                        os.unlink(path)
                    if drained:
                        with contextlib.suppress(OSError):
                            os.rmdir(self._spool_dir)
                    return merged
                finally:
                    self._release()
            except OSError as e:
                self._disable(e)
                return {}

    def read_counters(self) -> dict[str, int]:
        current = self._load_json(METRICS) or {}
        return {k: v for k, v in current.items() if isinstance(v, int)}

    def write_last_run(self, summary: Mapping[str, Any]) -> None:
        if self.disabled:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._write_json_atomic(LAST_RUN, summary)
        except OSError as e:
            self._disable(e)

    def read_last_run(self) -> dict[str, Any] | None:
        return self._load_json(LAST_RUN)

    def _snapshot(self) -> list[bytes]:
        """The bytes of every event file (oldest first) and spool file, opened while holding
        the lock when it can be had (so a rotation or a drain cannot make us read a record
        twice or miss it)."""

        locked = False
        with contextlib.suppress(OSError):
            if os.path.isdir(self.dir):
                self._ensure_open()
                locked = self._acquire()
        handles = []
        try:
            paths = [os.path.join(self.dir, n) for n in (*reversed(ROTATED), EVENTS)]
            try:
                spooled = sorted(n for n in os.listdir(self._spool_dir) if n.endswith(".jsonl"))
            except (FileNotFoundError, NotADirectoryError):
                spooled = []
            paths += [os.path.join(self._spool_dir, n) for n in spooled]
            for path in paths:
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    handle = open(path, "rb")  # noqa: SIM115 - closed below
                    # Read only what is there now: later appends may repeat spooled records.
                    handles.append((handle, os.fstat(handle.fileno()).st_size))
        finally:
            if locked:
                self._release()
        chunks = []
        for handle, size in handles:
            with handle:
                chunks.append(handle.read(size))
        return chunks

    def read_events(self) -> Iterator[dict[str, Any]]:
        with self._thread_lock:
            chunks = self._snapshot()
        for data in chunks:
            records, skipped = parse_lines(data)
            self.read_skipped += skipped
            yield from records

    def release(self) -> None:
        """Close the lock and events descriptors (reopened by the next write)."""

        with self._thread_lock:
            self._close()

    def health(self) -> Mapping[str, int | float]:
        return {
            "events_written": self.events_written,
            "events_spooled": self.events_spooled,
            "spool_drained": self.spool_drained,
            "lock_timeouts": self.lock_timeouts,
            "max_lock_wait_ms": round(self.max_lock_wait_ns / 1e6, 3),
            "rotations": self.rotations,
            "read_skipped_lines": self.read_skipped,
            "disabled": int(self.disabled),
        }
