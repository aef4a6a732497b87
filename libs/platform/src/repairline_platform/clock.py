"""Injectable clocks. Business durations are never waited for with sleep.

`SystemClock` is wall time. `SimulatedClock` is wall time plus an offset that an
operator or a test moves forward, so hours of business time play in seconds; the
offset is persisted by the service so a restart does not turn the clock back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    simulated = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Wall time shifted by an offset that only moves forward."""

    simulated = True

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._offset += delta
        return self.now()

    def set_offset(self, offset: timedelta) -> None:
        self._offset = max(self._offset, offset)


class FixedClock:
    """A clock that stands still until told to move: for unit tests."""

    simulated = True

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        self._at += delta
        return self._at
