"""Active hours: when a rule applies, as a pure function of local time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from frontage.config import ActiveHours


def active_since(local: dt.datetime, windows: Sequence[ActiveHours]) -> dt.datetime | None:
    """Start of the active window that contains `local`, or None when the rule is off.

    No windows means always on (returns datetime.min in local's timezone). A window whose end is not after
    its start runs past midnight. start == end means the whole day.
    """
    if not windows:
        return dt.datetime.min.replace(tzinfo=local.tzinfo)
    since = _window_start(local, windows)
    # Windows that touch or overlap run as one: 08-12 and 12-20 do not restart the dwell at noon.
    for _ in windows:
        if since is None:
            break
        earlier = _window_start(since - dt.timedelta(microseconds=1), windows)
        if earlier is None or earlier >= since:
            break
        since = earlier
    return since


def _window_start(local: dt.datetime, windows: Sequence[ActiveHours]) -> dt.datetime | None:
    best: dt.datetime | None = None
    for w in windows:
        start, end = w.bounds()
        for day in (local.date(), local.date() - dt.timedelta(days=1)):
            begin = dt.datetime.combine(day, start, tzinfo=local.tzinfo)
            stop = dt.datetime.combine(day, end, tzinfo=local.tzinfo)
            if stop <= begin:
                stop += dt.timedelta(days=1)
            if begin <= local < stop and (best is None or begin > best):
                best = begin
    return best
