"""The Clock contract, run against the fake and the system clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.fakes import FakeClock
from trifecta.adapters.system.clock import SystemClock
from trifecta.domain.ports import Clock


@pytest.fixture(params=[lambda: FakeClock(step_ns=1_000), SystemClock], ids=["fake", "system"])
def clock(request: pytest.FixtureRequest) -> Clock:
    clock: Clock = request.param()
    return clock


def test_monotonic_never_goes_back_and_counts_nanoseconds(clock: Clock) -> None:
    readings = [clock.monotonic_ns() for _ in range(1000)]
    assert all(isinstance(r, int) for r in readings)
    assert readings == sorted(readings)
    assert readings[-1] > readings[0]


def test_utc_iso_is_timezone_aware_utc(clock: Clock) -> None:
    stamp = datetime.fromisoformat(clock.utc_iso())
    assert stamp.utcoffset() == timedelta(0)


def test_epoch_seconds_are_plausible(clock: Clock) -> None:
    assert clock.epoch_s() > 1_700_000_000  # after 2023: not a monotonic counter
