"""Sliding-window counters kept in this process's memory, on the injected clock's times.

Per process is what this builds: one `frontage serve` process answers the public pages. A central service
running several worker processes or hosts needs a shared limiter (e.g. counters in PostgreSQL or Redis)
behind the same interface, or each process would allow the limit once more.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque


class SlidingWindows:
    """At most `limit` events per key in any `window_s` seconds. Thread-safe; forgets keys whose window ran out."""

    def __init__(self, limit: int, window_s: float, sweep_every: int = 1024):
        if limit <= 0 or window_s <= 0:
            raise ValueError("limit and window_s must be positive")
        self.limit, self.window = limit, dt.timedelta(seconds=window_s)
        self._events: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()
        self._sweep_every, self._since_sweep = sweep_every, 0

    def retry_after(self, key: str, now: dt.datetime) -> float:
        """0 when one more event is allowed now, else the seconds until the oldest counted one leaves the window."""
        with self._lock:
            times = self._events.get(key)
            if times is None:
                return 0.0
            self._drop_old(times, now)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, (times[0] + self.window - now).total_seconds())

    def add(self, key: str, now: dt.datetime) -> None:
        with self._lock:
            times = self._events.setdefault(key, deque())
            self._drop_old(times, now)
            times.append(now)
            self._since_sweep += 1
            if self._since_sweep >= self._sweep_every:
                self._sweep(now)

    def __len__(self) -> int:
        """How many keys are remembered (memory grows with the clients of one window, not with all time)."""
        return len(self._events)

    def _drop_old(self, times: deque[dt.datetime], now: dt.datetime) -> None:
        while times and times[0] + self.window <= now:
            times.popleft()

    def _sweep(self, now: dt.datetime) -> None:
        self._since_sweep = 0
        for key in [k for k, times in self._events.items() if not times or times[-1] + self.window <= now]:
            del self._events[key]
