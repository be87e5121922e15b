"""The telemetry service: the seed's API (event / observe / incr / flush) on the
``TelemetrySink`` port.

Every event is redacted as a whole (``trifecta.application.telemetry.redaction``), carries the
token estimate the caller passed (``tokens=``, default 0) and the repository state
(``repo_sha``, ``dirty``, read once per process through the ``RepoStateReader`` port), and
is appended to the sink at once. Counters and latencies stay in memory until ``flush``,
which merges the counters exactly and replaces ``last_run.json`` with the run's summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trifecta.application.telemetry.redaction import Redactor
from trifecta.application.telemetry.summary import (
    ast_block,
    file_read_block,
    is_lsp_request,
    latency_block,
    lsp_block,
    tokens_block,
    top_warnings,
)
from trifecta.domain.errors import TelemetryError
from trifecta.domain.model import CORE_EVENT_KEYS, RepoState
from trifecta.domain.ports import Clock, RepoStateReader, TelemetrySink

RESERVED_KEYS = frozenset((*CORE_EVENT_KEYS, "repo_sha", "dirty"))
HEALTH_COUNTERS = {
    "events_written": "telemetry_events_written",
    "events_spooled": "telemetry_events_spooled",
    "spool_drained": "telemetry_spool_drained",
}

PackStateFn = Callable[[], Mapping[str, Any] | None]
BytesReadFn = Callable[[], Mapping[str, int]]


class TelemetryService:
    """Records events and counters of one process run.

    Events are appended to the sink as they happen (so a crash loses nothing already
    recorded); counters and latencies are kept in memory and merged by ``flush``.
    ``level``: ``off`` writes nothing (the sink is never touched), ``lite`` is the default,
    ``full`` adds ``pid``, ``seq`` and ``since_start_ms`` to every event.
    """

    def __init__(
        self,
        sink: TelemetrySink | None,
        clock: Clock,
        segment_label: str,
        run_id: str | None = None,
        level: str = "lite",
        *,
        segment_root: str | Sequence[str] | None = None,
        home: str | None = None,
        user: str | None = None,
        repo: RepoStateReader | None = None,
        pack_state: PackStateFn | None = None,
        bytes_read: BytesReadFn | None = None,
    ) -> None:
        self._sink = sink if level != "off" else None
        self._clock = clock
        self.level = level
        self._full = level == "full"
        self._redactor = Redactor(segment_root, home, user)
        self.segment_label = self._redactor.string(segment_label)
        self.run_id = (
            run_id
            or f"run_{int(clock.epoch_s())}_{os.getpid()}_{clock.monotonic_ns() % 1_000_000:06d}"
        )
        self._start_ns = clock.monotonic_ns()
        self._repo = repo
        self._repo_state: RepoState | None = None
        self._pack_state = pack_state
        self._bytes_read = bytes_read
        self._bytes_flushed: dict[str, int] = {}
        self.metrics: dict[str, int] = {}
        self._flushed_metrics: dict[str, int] = {}
        self._flushed_health: dict[str, int] = {}
        self.latencies: dict[str, list[int]] = {}
        self.event_timings: dict[str, list[int]] = {}
        self.event_tokens: dict[str, list[int]] = {}
        self.event_bytes: dict[str, int] = {}
        self.warnings: list[str] = []
        self._seq = 0

    @property
    def enabled(self) -> bool:
        return self._sink is not None

    # ---- timing helpers (monotonic clock) ---------------------------------------------------

    def now_ns(self) -> int:
        """A reading of the injected monotonic clock, to pass to ``elapsed_ms``."""

        return self._clock.monotonic_ns()

    def elapsed_ms(self, start_ns: int) -> int:
        """Whole milliseconds since ``start_ns`` on the monotonic clock."""

        return (self._clock.monotonic_ns() - start_ns) // 1_000_000

    # ---- repository state --------------------------------------------------------------------

    def repo_state(self) -> RepoState:
        state = self._repo_state
        if state is None:
            state = self._repo.read() if self._repo is not None else RepoState()
            self._repo_state = state
        return state

    # ---- the seed's API ----------------------------------------------------------------------

    def event(
        self,
        cmd: str,
        args: Mapping[str, Any],
        result: Mapping[str, Any],
        timing_ms: int,
        warnings: list[str] | None = None,
        **extra_fields: Any,
    ) -> None:
        if extra_fields:
            for key in extra_fields:
                if key in RESERVED_KEYS:
                    clash = sorted(set(extra_fields) & RESERVED_KEYS)
                    raise TelemetryError(
                        f"extra field(s) {', '.join(clash)} would overwrite core event keys"
                    )
        sink = self._sink
        if sink is None:
            return
        red = self._redactor
        timing = int(timing_ms)
        tokens = extra_fields.pop("tokens", 0) if extra_fields else 0
        tokens = int(tokens) if isinstance(tokens, int | float) else 0
        warns = [red.string(str(w)) for w in warnings] if warnings else []
        if warns:
            self.warnings.extend(warns)
        state = self._repo_state or self.repo_state()
        record: dict[str, Any] = {
            "ts": self._clock.utc_iso(),
            "run_id": self.run_id,
            "segment": self.segment_label,
            "cmd": red.string(cmd) if "/" in cmd else cmd,
            "args": red.mapping(args),
            "result": red.mapping(result),
            "timing_ms": timing,
            "warnings": warns,
            "tokens": tokens,
            "repo_sha": state.sha,
            "dirty": state.dirty,
        }
        if extra_fields:
            value = red.value
            for key, val in extra_fields.items():
                record[key] = value(val, key)
            read = extra_fields.get("bytes_read")
            if isinstance(read, int):
                self.event_bytes[cmd] = self.event_bytes.get(cmd, 0) + read
        if self._full:
            self._seq += 1
            record["pid"] = os.getpid()
            record["seq"] = self._seq
            record["since_start_ms"] = round(
                (self._clock.monotonic_ns() - self._start_ns) / 1_000_000, 3
            )
        timings = self.event_timings.get(cmd)
        if timings is None:
            self.event_timings[cmd] = [timing]
            self.event_tokens[cmd] = [tokens]
        else:
            timings.append(timing)
            self.event_tokens[cmd].append(tokens)
        sink.append_events((record,))

    def observe(self, cmd: str, ms: int) -> None:
        self.latencies.setdefault(cmd, []).append(int(ms))

    def incr(self, name: str, n: int = 1) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + n

    def health(self) -> dict[str, int | float]:
        return dict(self._sink.health()) if self._sink is not None else {}

    # ---- flush -------------------------------------------------------------------------------

    def _collect_bytes_read(self) -> None:
        if self._bytes_read is None:
            return
        for mode, total in self._bytes_read().items():
            key = str(mode)
            delta = int(total) - self._bytes_flushed.get(key, 0)
            if delta:
                self.incr(f"file_read_{key}_bytes_total", delta)
                self._bytes_flushed[key] = int(total)

    def _recorded_anything(self) -> bool:
        return bool(self.metrics or self.latencies or self.event_timings)

    def flush(self) -> None:
        """Merge this run's counters into ``metrics.json`` (only what was not merged yet)
        and replace ``last_run.json``. A run that recorded nothing writes nothing. The
        sink's descriptors are released either way (a later event reopens them)."""

        sink = self._sink
        if sink is None:
            return
        try:
            self._flush(sink)
        finally:
            sink.release()

    def _flush(self, sink: TelemetrySink) -> None:
        self._collect_bytes_read()
        if not self._recorded_anything():
            return
        health = dict(sink.health())
        for name, counter in HEALTH_COUNTERS.items():
            value = int(health.get(name, 0))
            delta = value - self._flushed_health.get(name, 0)
            if delta:
                self.incr(counter, delta)
            self._flushed_health[name] = value
        deltas = {
            k: v - self._flushed_metrics.get(k, 0)
            for k, v in self.metrics.items()
            if v != self._flushed_metrics.get(k, 0)
        }
        if deltas:
            sink.merge_counters(deltas)
            self._flushed_metrics = dict(self.metrics)
        sink.write_last_run(self.summary(health))

    def _samples(self) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, int]]:
        """Latency samples per command, the events' timings, and the counters: snapshots
        (each a C-level copy, whole under the GIL), since in a long-lived process other
        threads (a build, the language server's warm-up) record while this reads."""

        event_timings = dict(self.event_timings)
        samples = dict(event_timings)
        # observe() wins for a command it was used for (no double counting with events).
        samples.update(dict(self.latencies))
        return samples, event_timings, dict(self.metrics)

    def session(self) -> dict[str, Any]:
        """This run's latencies, counters and telemetry health, without the repository's
        and the pack's state (``summary`` has those): nothing is read from disk."""

        samples, _, metrics = self._samples()
        return {
            "run_id": self.run_id,
            "metrics_delta": dict(sorted(metrics.items())),
            "latencies": {c: latency_block(v) for c, v in sorted(samples.items())},
            "telemetry": self.health(),
        }

    def summary(self, health: Mapping[str, int | float] | None = None) -> dict[str, Any]:
        """The ``last_run.json`` document for this run (seed C.3 + tokens + health)."""

        samples, event_timings, metrics = self._samples()
        event_tokens = dict(self.event_tokens)
        event_bytes = dict(self.event_bytes)
        pack = self._pack_state() if self._pack_state is not None else None
        lsp_requests = sum(len(v) for c, v in event_timings.items() if is_lsp_request(c))
        state = self.repo_state()
        return {
            "run_id": self.run_id,
            "ts": self._clock.utc_iso(),
            "segment": self.segment_label,
            "level": self.level,
            "repo_sha": state.sha,
            "dirty": state.dirty,
            "metrics_delta": dict(sorted(metrics.items())),
            "latencies": {c: latency_block(v) for c, v in sorted(samples.items())},
            "tokens": {c: tokens_block(v) for c, v in sorted(event_tokens.items())},
            "bytes_read": dict(sorted(event_bytes.items())),
            "ast": ast_block(metrics),
            "lsp": lsp_block(metrics, lsp_requests),
            "file_read": file_read_block(metrics),
            "top_warnings": top_warnings(list(self.warnings)),
            "pack_state": dict(pack) if pack is not None else None,
            "telemetry": dict(health if health is not None else self.health()),
        }
