"""Dwell timing for one rule on one camera: objects in frontages -> violations that open and clear.

Time comes only from the frames' timestamps (seconds), so a recording replays the same at any speed.
An object must be seen in every sampled frame for `entry_debounce_s` to count as entered (flickers never
start a case). Once entered it may be missed for up to `exit_grace_s` (detector misses, a passer-by in front)
and keeps its dwell; parked objects are re-associated by box overlap when the tracker's identity is lost, so
one parked car is one case. A violation opens when the dwell inside active hours reaches `dwell_s`, and clears
once the object has been gone longer than the grace; its clearing time is when it was last seen.
A violation is only opened on a frame where the object is seen, so its evidence snapshot shows it (a car
that left just before its dwell ran out opens nothing); its opening time is still when the dwell was reached.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from detector.types import Detection
from frontage.config import Rule, RuleKind
from zones.geometry import XYXY, Zone, assign_zone, iou
from zones.hours import active_since

REASSOCIATE_IOU = 0.3


class EventType(StrEnum):
    opened = "opened"
    cleared = "cleared"


@dataclass(frozen=True)
class ViolationEvent:
    type: EventType
    key: str  # unique per violation within one tracker's life
    camera_id: str
    shop_id: str
    kind: RuleKind
    object_class: str
    first_seen_t: float
    t: float
    box: XYXY
    dwell_s: float
    opened_t: float | None = None
    cleared_t: float | None = None


@dataclass
class _Candidate:
    key: str
    shop_id: str
    first_seen: float
    last_seen: float
    box: XYXY
    classes: Counter[str] = field(default_factory=Counter)
    track_ids: set[int] = field(default_factory=set)
    entered: bool = False
    opened_t: float | None = None
    restored: bool = False  # taken back after a restart; its grace starts at the camera's first frame

    def see(self, det: Detection, t: float) -> None:
        self.last_seen, self.box = t, det.xyxy
        self.classes[det.cls] += 1
        if det.track_id is not None:
            self.track_ids.add(det.track_id)

    @property
    def object_class(self) -> str:
        return self.classes.most_common(1)[0][0]


class DwellTracker:
    """Keeps the candidates of one (camera, rule) pair between frames."""

    def __init__(self, camera_id: str, kind: RuleKind, rule: Rule, zones: Sequence[Zone], key_prefix: str = ""):
        self.camera_id, self.kind, self.rule = camera_id, kind, rule
        self.key_prefix = f"{key_prefix}/" if key_prefix else ""
        self.zones = [z for z in zones if z.camera_id == camera_id]
        self.classes = frozenset(rule.classes)
        self._cands: list[_Candidate] = []
        self._seq = 0
        self._last_t: float | None = None

    def update(self, t: float, local: dt.datetime, detections: Sequence[Detection]) -> list[ViolationEvent]:
        placed = [
            (d, z.shop_id)
            for d in detections
            if d.cls in self.classes and (z := assign_zone(d.xyxy, self.zones, self.rule.presence)) is not None
        ]
        dark = self._last_t is not None and t - self._last_t > self.rule.exit_grace_s
        self._last_t = t
        for cand in self._cands:
            # After a restart, or a gap in the frames longer than the grace (the camera was dark), nobody saw
            # the object leave: the grace counts again from this frame. A dark camera never clears a case.
            if cand.restored or (dark and cand.entered):
                cand.last_seen, cand.restored = t, False
        matched = self._match(placed)
        events: list[ViolationEvent] = []
        seen_now: set[int] = set()
        for (det, shop_id), cand in zip(placed, matched, strict=True):
            if cand is None:
                cand = _Candidate(self._next_key(), shop_id, t, t, det.xyxy)
                self._cands.append(cand)
            cand.see(det, t)
            seen_now.add(id(cand))
        since = active_since(local, self.rule.active_hours)
        keep: list[_Candidate] = []
        for cand in self._cands:
            visible = id(cand) in seen_now
            if not cand.entered:
                if not visible:
                    continue  # a flicker: dropped before it ever counted
                cand.entered = t - cand.first_seen >= self.rule.entry_debounce_s
            elif not visible and t - cand.last_seen > self.rule.exit_grace_s:
                if cand.opened_t is not None:
                    events.append(self._event(EventType.cleared, cand, t, cleared_t=cand.last_seen))
                continue
            if visible and cand.entered and cand.opened_t is None and since is not None:
                start = max(cand.first_seen, t - (local - since).total_seconds())
                if t - start >= self.rule.dwell_s:
                    cand.opened_t = start + self.rule.dwell_s
                    events.append(self._event(EventType.opened, cand, t))
            keep.append(cand)
        self._cands = keep
        return events

    def _match(self, placed: list[tuple[Detection, str]]) -> list[_Candidate | None]:
        """Same track id first; then, for the rest, the best box overlap with an unmatched candidate."""
        out: list[_Candidate | None] = [None] * len(placed)
        free = list(self._cands)
        for i, (det, shop_id) in enumerate(placed):
            if det.track_id is None:
                continue
            for cand in free:
                if cand.shop_id == shop_id and det.track_id in cand.track_ids:
                    out[i] = cand
                    free.remove(cand)
                    break
        pairs = sorted(
            (
                (iou(det.xyxy, cand.box), i, j)
                for i, (det, shop_id) in enumerate(placed)
                if out[i] is None
                for j, cand in enumerate(free)
                if cand.shop_id == shop_id
            ),
            reverse=True,
        )
        used: set[int] = set()
        for score, i, j in pairs:
            if score < REASSOCIATE_IOU:
                break
            if out[i] is None and j not in used:
                out[i] = free[j]
                used.add(j)
        return out

    def _next_key(self) -> str:
        self._seq += 1
        return f"{self.key_prefix}{self.camera_id}/{self.kind.value}/{self._seq}"

    def restore(self, key: str, shop_id: str, box: XYXY, object_class: str, first_seen_t: float, opened_t: float,
                t: float) -> None:  # fmt: skip
        """Take back an open violation after a restart: when the object is still there it matches this candidate
        and the case goes on; when it left while the process was down, the case clears after the exit grace,
        counted from the camera's first frame (a camera slow to come back never clears a case)."""
        cand = _Candidate(key, shop_id, first_seen_t, t, box, entered=True, opened_t=opened_t, restored=True)
        cand.classes[object_class] += 1
        self._cands.append(cand)

    def _event(self, type_: EventType, c: _Candidate, t: float, cleared_t: float | None = None) -> ViolationEvent:
        return ViolationEvent(
            type=type_,
            key=c.key,
            camera_id=self.camera_id,
            shop_id=c.shop_id,
            kind=self.kind,
            object_class=c.object_class,
            first_seen_t=c.first_seen,
            t=t,
            box=c.box,
            dwell_s=(cleared_t if cleared_t is not None else t) - c.first_seen,
            opened_t=c.opened_t,
            cleared_t=cleared_t,
        )
