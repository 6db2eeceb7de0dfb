"""Injected clocks: rules, dwell, deadlines and replay all ask a clock, never the OS, so tests replay hours in
milliseconds and a recording's timestamps can drive the whole system."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """Wall-clock time, for live cameras."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to: tests and recorded-video replay set it from frame timestamps."""

    def __init__(self, start: dt.datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        if when < self._now:
            raise ValueError(f"clock cannot run backwards: {when} < {self._now}")
        self._now = when

    def advance(self, seconds: float) -> dt.datetime:
        self._now += dt.timedelta(seconds=seconds)
        return self._now


class ScaledClock:
    """Wall time run faster from an anchor: `anchor_time` at wall second `anchor_wall`, `speed` times as fast.

    Every process given the same anchor reads the same time, so a drill or a test can kill and restart a
    service and watch deadlines hold their times, compressing minutes of street time into seconds.
    """

    def __init__(self, anchor_time: dt.datetime, anchor_wall: float, speed: float = 1.0):
        if anchor_time.tzinfo is None or speed <= 0:
            raise ValueError("ScaledClock needs an aware anchor time and a positive speed")
        self.anchor_time, self.anchor_wall, self.speed = anchor_time, anchor_wall, speed

    def now(self) -> dt.datetime:
        return self.anchor_time + dt.timedelta(seconds=(time.time() - self.anchor_wall) * self.speed)
