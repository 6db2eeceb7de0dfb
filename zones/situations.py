"""One situation, one case: every object of a rule in one shop's frontage makes one case.

Four parasols, or a row of crates set out at one shop, are one problem for one merchant: one reminder, one
deadline. The dwell tracker still times each object on its own (each must stand its dwell); this merges their
events per shop. The first object to reach its dwell opens the shop's case, and its evidence shows every object
of the rule standing in that frontage then. Objects that reach their dwell while it is open join it. It clears
when the last of its objects is gone, at that one's clearing time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zones.dwell import ViolationEvent
    from zones.geometry import XYXY


@dataclass
class _Situation:
    key: str  # the case's key: its first object's
    members: set[str] = field(default_factory=set)


class Situations:
    """Open situations of one (camera, rule), by shop."""

    def __init__(self) -> None:
        self._open: dict[str, _Situation] = {}
        self._solo: set[str] = set()  # open cases taken back after a restart beside their shop's: each on its own

    def merge(self, events: Sequence[ViolationEvent],
              resting: Callable[[str], list[XYXY]]) -> list[ViolationEvent]:  # fmt: skip
        """Per-object events in, per-shop events out. `resting(shop)` gives where the rule's objects in that
        shop's frontage stand now."""
        from zones.dwell import EventType  # the event types live with the tracker that imports this module

        out: list[ViolationEvent] = []
        for ev in events:
            if ev.key in self._solo:
                if ev.type is EventType.cleared:
                    self._solo.discard(ev.key)
                    out.append(ev)
                continue
            sit = self._open.get(ev.shop_id)
            if ev.type is EventType.opened:
                if sit is None:
                    self._open[ev.shop_id] = _Situation(ev.key, {ev.key})
                    others = tuple(b for b in resting(ev.shop_id) if b != ev.box)
                    out.append(replace(ev, others=others))
                else:
                    sit.members.add(ev.key)
                    out.append(replace(ev, type=EventType.joined, key=sit.key))
            elif ev.type is EventType.cleared and sit is not None and ev.key in sit.members:
                sit.members.discard(ev.key)
                if not sit.members:
                    del self._open[ev.shop_id]
                    out.append(replace(ev, key=sit.key))
        return out

    def restore(self, key: str, shop_id: str) -> None:
        """An open case taken back after a restart: its object is its only member until others join. A second
        open case of the same shop (from before one_case_per_shop was on) stays its own and clears on its own."""
        sit = self._open.get(shop_id)
        if sit is None:
            self._open[shop_id] = _Situation(key, {key})
        elif key not in sit.members:
            self._solo.add(key)

    def case_key(self, shop_id: str) -> str | None:
        sit = self._open.get(shop_id)
        return sit.key if sit else None
