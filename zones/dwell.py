"""Dwell timing for one rule on one camera: objects in frontages -> violations that open and clear.

Time comes only from the frames' timestamps (seconds), so a recording replays the same at any speed. A false
case reminds an innocent merchant and then escalates to the city, so every doubt goes against opening one:

- **Only standing still counts.** An object is at rest once its ground point (the bottom-centre of its box)
  has stayed within `stationary.tolerance` of one place for `stationary.window_s`, seen there in every frame
  (vehicles flowing through one spot are each seen there now and then; a parked one all the time). Its dwell
  counts from when it got there and grows while it is seen at that place.
  - Away from it (moving on, or parking a few metres further) it accrues nothing until it has rested at a new
    place, where the dwell starts again. Back at its place within the window, it never left (a passer-by
    clipped its box): the time is bridged like a detector miss.
  - An object seen moving away and then lost drove off. It matches nothing any more and its case clears at
    its last sighting at its place; whatever stands there next gets its own dwell, even under the same track
    id (the tracker picks a lost track up at the same place).
  - So moving traffic, a queue creeping forward and a chain of vehicles through one spot never add up.
- **Only evidence counts.** A frame the model saw, or one the change gate found unchanged since, is a sighting.
  A carried frame (a changed picture the model had no time for yet) is watched time but no sighting: the dwell
  across it counts only if the object is seen at its place afterwards. Unknown time (a changed picture the
  model has not looked at for longer than the carry allowance, or a gap in the frames longer than the grace:
  the camera was dark) adds no dwell and counts no absence, so it never clears a case either. An object that
  waited out unknown time longer than the grace starts its dwell again.
- **Identity.** First an object at rest claims the detection standing at its place, whatever the track id (the
  tracker's ids jump between a parked van and the traffic passing in front of it; its place does not). Then
  the tracker's id; then box overlap with an object seen on the previous frame that the tracker never named
  (a new object's first sighting never continues a tracked one), always within one class group. A detection
  just outside every frontage is a sighting of an entered object standing on the frontage's edge there.
- An entered object (seen in every frame for `entry_debounce_s`: flickers never start a case) may be missed
  for up to `exit_grace_s` and keeps its dwell.
- **Opening.** A violation opens on a frame the model saw, with the object in it, at rest, and seen at rest
  for `window_s` since any gap in its sightings longer than that; so its snapshot shows it. Its opening time
  is when the dwell was reached.
- **Clearing.** A violation clears when the object has been absent longer than the grace; its clearing time
  is when it was last seen, or the end of a stretch nobody could see after that (nobody saw it leave).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from detector.types import Detection, Evidence
from frontage.config import STATIC_OBJECT, Rule, RuleKind
from zones.geometry import XYXY, Zone, assign_zone, ground_shift, iou, is_inside, overlap_fraction
from zones.hours import active_since
from zones.situations import Situations

FOLLOW_IOU = 0.3  # overlap with the box of the previous frame that continues an object without a track id
REASSOCIATE_IOU = 0.5  # overlap with its resting box that brings a lost stationary object back
SIGHTINGS = frozenset({Evidence.seen, Evidence.unchanged})
FIXTURE_OVERLAP = 0.5  # share of a box inside a permitted fixture that makes it that fixture


class EventType(StrEnum):
    opened = "opened"
    joined = "joined"  # one more object in a shop's open case (a rule with one_case_per_shop)
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
    others: tuple[XYXY, ...] = ()  # the other objects of the same case in the frame (one_case_per_shop)
    reason: str = ""  # why it cleared, when not because the object left (its frontage was redrawn)


@dataclass(frozen=True)
class DwellState:
    """An object in a frontage, as the service checkpoints it: enough to go on after a restart. For an object
    still waiting out its dwell, the dwell; for one whose case is open, how long it had been gone (the case
    itself comes back from the store)."""

    key: str
    shop_id: str
    object_class: str
    box: XYXY  # where it rests
    first_seen_t: float
    last_seen_t: float  # its last sighting at rest
    still_s: float  # the dwell it has accrued
    opened: bool = False  # its case is open
    absent_s: float = 0.0  # watched time it had been out of sight when saved


@dataclass
class _Rest:
    """Where an object came to rest, and what it has accrued there."""

    box: XYXY
    t: float  # last sighting at this place
    u: float  # the tracker's unknown-time total at `t`
    still_s: float = 0.0  # dwell: time seen standing here, inside active hours
    steady_since: float | None = None  # seen here in every frame since; None until seen again after a restart
    due_t: float | None = None  # when still_s reached the rule's dwell_s


@dataclass
class _Candidate:
    key: str
    shop_id: str
    first_seen: float
    last_seen: float
    box: XYXY
    rest: _Rest | None = None  # None until it has stood still somewhere
    u_seen: float = 0.0  # the tracker's unknown-time total at last_seen
    # recent sightings: (t, box, the tracker's unknown-time total, the tracker's sighting-frame number)
    recent: deque[tuple[float, XYXY, float, int]] = field(default_factory=deque)
    classes: Counter[str] = field(default_factory=Counter)
    track_ids: set[int] = field(default_factory=set)
    entered: bool = False
    opened_t: float | None = None
    restored: float | None = None  # an open case taken back after a restart: how long it had been gone by then
    away_since: float | None = None  # first sighting away from its resting place, while that lasts
    left: bool = False  # seen moving away, then lost: it drove off

    def see(self, det: Detection, t: float, unknown: float) -> None:
        self.last_seen, self.u_seen, self.box = t, unknown, det.xyxy
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
        self.classes = rule.watched_classes
        groups = [*rule.class_groups, *([sorted(self.classes)] if STATIC_OBJECT in self.classes else [])]
        # A static object is the same thing as the goods the model names there on another frame.
        self._groups = {c: {m for g in groups if c in g for m in g} for g in groups for c in g}
        self.fixtures: list[tuple[str, Zone]] = []  # (shop, outline) of the permitted fixtures in view
        self.situations = Situations() if rule.one_case_per_shop else None
        self._cands: list[_Candidate] = []
        self._seq = 0
        self._last_t: float | None = None
        self._last_evidence = Evidence.seen
        self._prev_sighting_t: float | None = None  # the last frame that was a sighting
        self._sightings = 0  # frames that were sightings so far
        self._unknown = 0.0  # seconds of unknown time so far (see the module docstring)
        self._unknown_until = -float("inf")  # when the last stretch of unknown time ended
        self._redrawn: dict[str, float] = {}  # shop -> when its frontage was last redrawn (what it watches since)

    @property
    def awaiting_look(self) -> bool:
        """Whether an object in view has reached its dwell and waits for a frame the model sees to open."""
        return any(
            c.opened_t is None
            and c.rest is not None
            and c.rest.due_t is not None
            and c.last_seen == self._prev_sighting_t
            for c in self._cands
        )

    def update(self, t: float, local: dt.datetime, detections: Sequence[Detection],
               evidence: Evidence = Evidence.seen) -> list[ViolationEvent]:  # fmt: skip
        self._account(t, evidence)
        if evidence not in SIGHTINGS:
            return []  # carried or unknown: no detection here is a sighting, no absence either
        self._sightings += 1
        placed: list[tuple[Detection, str]] = []
        loose: list[Detection] = []  # outside every frontage: a sighting only of an object standing at its edge
        for d in detections:
            if d.cls not in self.classes or self._permitted(d.xyxy):
                continue
            if (z := assign_zone(d.xyxy, self.zones, self.rule.presence)) is not None:
                placed.append((d, z.shop_id))
            else:
                loose.append(d)
        for cand in self._cands:
            if cand.restored is not None:  # nobody saw it leave while the process was down: its absence goes on
                cand.last_seen, cand.u_seen, cand.restored = t - cand.restored, self._unknown, None  # from here
        since = active_since(local, self.rule.active_hours)
        active_from = None if since is None else t - (local - since).total_seconds()
        seen_now: set[int] = set()
        matched = self._match(placed)
        for (det, shop_id), cand in zip(placed, matched, strict=True):
            if cand is None:
                cand = _Candidate(self._next_key(), shop_id, t - det.static_s, t, det.xyxy)
                self._cands.append(cand)
                if min(det.static_s, t - self._watched_from(shop_id)) >= self.rule.stationary.window_s:
                    self._arrived_still(cand, det, t, active_from)
                    cand.see(det, t, self._unknown)
                    seen_now.add(id(cand))
                    continue
            self._observe(cand, det.xyxy, t, active_from, det.static_s)
            cand.see(det, t, self._unknown)
            seen_now.add(id(cand))
        for det, cand in self._at_the_edge(loose, [c for c in self._cands if id(c) not in seen_now]):
            self._observe(cand, det.xyxy, t, active_from)
            cand.see(det, t, self._unknown)
            seen_now.add(id(cand))
        events: list[ViolationEvent] = []
        keep: list[_Candidate] = []
        for cand in self._cands:
            if id(cand) not in seen_now:
                if not cand.entered:
                    continue  # a flicker: dropped before it ever counted
                cand.left = cand.left or cand.away_since is not None
                if self._absent_s(cand, t) > self.rule.exit_grace_s:
                    if cand.opened_t is not None and cand.rest is not None:
                        # Last seen at its place (one that drove off left it then), or after that the end of a
                        # stretch nobody could see.
                        seen, u = (cand.rest.t, cand.rest.u) if cand.left else (cand.last_seen, cand.u_seen)
                        cleared_t = seen + (self._unknown - u)
                        events.append(self._event(EventType.cleared, cand, t, cleared_t=cleared_t))
                    continue
            else:
                cand.entered = cand.entered or t - cand.first_seen >= self.rule.entry_debounce_s
                if evidence is Evidence.seen and active_from is not None and self._ready(cand, t):
                    cand.opened_t = cand.rest.due_t  # type: ignore[union-attr]
                    events.append(self._event(EventType.opened, cand, t))
            keep.append(cand)
        self._cands = keep
        self._prev_sighting_t = t
        if self.situations is not None:
            events = self.situations.merge(events, self._resting_boxes)
        return events

    def _permitted(self, box: XYXY) -> bool:
        """Inside a permitted fixture: the shop's own bench or planter, part of its baseline."""
        return any(overlap_fraction(box, z.polygon) >= FIXTURE_OVERLAP for _, z in self.fixtures)

    def _resting_boxes(self, shop_id: str) -> list[XYXY]:
        """Where this rule's objects in a shop's frontage stand now: the evidence of its one case shows them all."""
        return [self._place(c) for c in self._cands if c.shop_id == shop_id and c.entered and c.rest is not None
                and c.last_seen == self._prev_sighting_t]  # fmt: skip

    def set_fixtures(self, fixtures: Sequence[tuple[str, Zone]]) -> None:
        """The camera's current baseline of permitted fixtures (shop, outline)."""
        self.fixtures = list(fixtures)

    def warp(self, zones: Sequence[Zone], move: Callable[[XYXY], XYXY]) -> None:
        """The camera moved a little and its frontages were re-registered (`zones`, `move` maps a box of the old
        view onto the new): everything the tracker knows moves with them, so an object standing through the move
        keeps its place, its dwell and its case."""
        self.zones = [z for z in zones if z.camera_id == self.camera_id]
        for c in self._cands:
            c.box = move(c.box)
            if c.rest is not None:
                c.rest.box = move(c.rest.box)
            c.recent = deque((t, move(b), u, n) for t, b, u, n in c.recent)

    def redraw(self, zones: Sequence[Zone], t: float, reason: str) -> list[ViolationEvent]:
        """The camera's frontages were redrawn (the zone editor saved a new version). An object whose box no
        longer stands in its shop's new frontage is forgotten, and its open case clears now with `reason`; one
        still inside goes on unchanged: the same dwell, the same case. What stands outside every frontage now
        counts for nothing; what stands in another shop's frontage starts its dwell there afresh.
        Inside under both: an object is kept when the place where its dwell accrued (not just its box of the
        moment) lies in the new frontage. A redrawn frontage watches from `t` on: what settled in its new part
        before (the static-object detector's `static_s`) brings no dwell from before the redraw."""
        new = [z for z in zones if z.camera_id == self.camera_id]
        old = {z.shop_id: z.points for z in self.zones}
        for z in new:
            if old.get(z.shop_id) != z.points and self._last_t is not None:  # before the first frame: nothing was
                self._redrawn[z.shop_id] = t  # watched yet (a replay or a restart taking the store's version)
        self.zones = new
        events: list[ViolationEvent] = []
        keep: list[_Candidate] = []
        for cand in self._cands:
            place = self._place(cand)
            if any(is_inside(place, z, self.rule.presence) for z in self.zones if z.shop_id == cand.shop_id):
                keep.append(cand)
            elif cand.opened_t is not None:
                events.append(self._event(EventType.cleared, cand, t, cleared_t=t, reason=reason))
        self._cands = keep
        if self.situations is not None:
            events = self.situations.merge(events, self._resting_boxes)
        return events

    # -- time and stillness -------------------------------------------------------------------------------------

    def _account(self, t: float, evidence: Evidence) -> None:
        """Add the time since the last frame to the unknown total when nobody could see it."""
        if self._last_t is not None:
            gap = t - self._last_t
            if gap > 0 and (Evidence.unknown in (evidence, self._last_evidence) or gap > self.rule.exit_grace_s):
                self._unknown += gap
                self._unknown_until = t
        self._last_t, self._last_evidence = t, evidence

    def _watched_from(self, shop_id: str) -> float:
        """Since when the shop's frontage has been watched as it is: not across unknown time, nor a redraw."""
        return max(self._unknown_until, self._redrawn.get(shop_id, -float("inf")))

    def _absent_s(self, cand: _Candidate, t: float) -> float:
        return t - cand.last_seen - (self._unknown - cand.u_seen)

    def _observe(self, cand: _Candidate, box: XYXY, t: float, active_from: float | None,
                 static_s: float = 0.0) -> None:  # fmt: skip
        """A sighting: does the object stand where it came to rest, has it come to rest somewhere, for how long?
        `static_s`: the static-object detector saw its pixels settled that long (its box may change as goods
        beside it are set out or taken in, or as a move re-registers the view; its pixels are the evidence)."""
        st = self.rule.stationary
        recent = cand.recent
        recent.append((t, box, self._unknown, self._sightings))
        while recent and recent[0][0] < t - st.window_s - self.rule.exit_grace_s - 1.0:
            recent.popleft()
        rest = cand.rest
        if rest is None or ground_shift(box, rest.box) > st.tolerance:
            if rest is not None and cand.away_since is None:
                cand.away_since = t
            since = self._still_since(cand, box)
            if static_s >= st.window_s:
                since = min(since, max(t - static_s, cand.first_seen, self._watched_from(cand.shop_id)))
            if t - since >= st.window_s:
                # It has stood still here for the window: at rest at a new place, dwell from when it got here.
                cand.rest, cand.away_since, cand.left = _Rest(box, since, self._unknown, steady_since=since), \
                    None, False  # fmt: skip
                self._grow(cand.rest, t - since, t, active_from)
                cand.rest.t = t
            return
        if cand.away_since is not None:  # back at its place after an excursion (one that drove off matches nothing)
            # Back within the window: a passer-by clipped its box, or jitter. It never left; like a miss, the time
            # away is bridged (below), but it must show once more that it stands still before its case opens.
            rest.steady_since = t
            cand.away_since = None
        unknown = self._unknown - rest.u
        known = t - rest.t - unknown
        if unknown > self.rule.exit_grace_s or known > self.rule.exit_grace_s:
            cand.rest = None  # nobody can vouch for what stood here meanwhile: it must show it rests again
            recent.clear()
            recent.append((t, box, self._unknown, self._sightings))
            return
        if unknown > 0 or t - cand.last_seen > st.window_s or rest.steady_since is None:
            rest.steady_since = t  # back after a longer gap: it must show once more that it stands still
        self._grow(rest, known, t, active_from)
        rest.t, rest.u = t, self._unknown

    def _arrived_still(self, cand: _Candidate, det: Detection, t: float, active_from: float | None) -> None:
        """A static object, first reported once it had stood still for `det.static_s` (the static-object detector
        saw it settle in every frame since): at rest from its arrival, and its dwell counts from then."""
        since = max(t - det.static_s, self._watched_from(cand.shop_id))  # what nobody watched is no dwell
        cand.first_seen = max(cand.first_seen, since)
        cand.rest = _Rest(det.xyxy, since, self._unknown, steady_since=since)
        cand.recent.append((t, det.xyxy, self._unknown, self._sightings))
        self._grow(cand.rest, t - since, t, active_from)
        cand.rest.t = t

    def _still_since(self, cand: _Candidate, box: XYXY) -> float:
        """The earliest recent sighting from which on the object was seen in every frame, each time within the
        tolerance of `box`, with no unknown time between. A miss breaks it: vehicles flowing through one spot
        are each seen there now and then, and their sightings must not add up to one that stands."""
        tol = self.rule.stationary.tolerance
        since, u_now, n_next = cand.recent[-1][0], cand.recent[-1][2], cand.recent[-1][3] + 1
        for t_i, box_i, u_i, n_i in reversed(cand.recent):
            if u_i != u_now or n_i != n_next - 1 or ground_shift(box_i, box) > tol:
                break
            since, n_next = t_i, n_i
        return since

    def _grow(self, rest: _Rest, add: float, t: float, active_from: float | None) -> None:
        """Add `add` seconds of standing still up to `t`; only what lies inside the rule's current active window."""
        if active_from is None:
            rest.still_s, rest.due_t = 0.0, None
            return
        if t - add < active_from:  # the window opened within this stretch: what came before belongs to no window
            rest.still_s, rest.due_t = 0.0, None
            add = max(0.0, t - active_from)
        rest.still_s += add
        self._mark_due(rest, t)

    def _mark_due(self, rest: _Rest, t: float) -> None:
        """Once the dwell reaches dwell_s, note when it did (`t` is the time of its newest part)."""
        if rest.due_t is None and rest.still_s >= self.rule.dwell_s:
            rest.due_t = t - (rest.still_s - self.rule.dwell_s)

    def _ready(self, cand: _Candidate, t: float) -> bool:
        """May its case open on this frame (which the model saw, with the object in it)?"""
        rest = cand.rest
        return (
            cand.entered
            and rest is not None
            and cand.opened_t is None
            and cand.away_since is None
            and rest.due_t is not None
            and rest.steady_since is not None
            and t - rest.steady_since >= self.rule.stationary.window_s
        )

    def _settling(self, cand: _Candidate) -> bool:
        """Not at rest yet, but seen at least twice in a row at its last place: if lost a moment, the detection at
        that place may take it up again. It has no dwell to lend, only the start of its stillness."""
        return cand.entered and cand.rest is None and self._still_since(cand, cand.box) < cand.last_seen

    @staticmethod
    def _place(cand: _Candidate) -> XYXY:
        return cand.rest.box if cand.rest is not None else cand.box

    # -- identity -----------------------------------------------------------------------------------------------

    def _compatible(self, cls: str, cand: _Candidate) -> bool:
        return cls in self._groups.get(cand.object_class, {cand.object_class})

    def _match(self, placed: list[tuple[Detection, str]]) -> list[_Candidate | None]:
        """Who is who. First an object at rest claims the detection standing at its place, whatever its track id:
        the tracker's ids jump between a parked van and the traffic passing in front of it, its place does not.
        Then the same track id; then box overlap with an object seen on the previous frame that the tracker never
        named; last, an object not yet at rest but seen twice at its last place, lost a moment, at that place."""
        out: list[_Candidate | None] = [None] * len(placed)
        tol = self.rule.stationary.tolerance

        def at_place(det: Detection, c: _Candidate) -> bool:
            return ground_shift(det.xyxy, self._place(c)) <= tol

        def claims(det: Detection, c: _Candidate) -> bool:
            # Not once the tracker followed it away and what stands at its place now has an id of its own (the
            # next bus pulling in as the last one pulls out), nor once it drove off and was lost.
            moved_off = c.away_since is not None and det.track_id is not None and det.track_id not in c.track_ids
            return at_place(det, c) and not moved_off

        self._assign(out, placed, [c for c in self._cands if c.rest is not None and not c.left], self._place,
                     REASSOCIATE_IOU, claims)  # fmt: skip
        free = [c for c in self._cands if all(c is not o for o in out)]
        for i, (det, shop_id) in enumerate(placed):
            if det.track_id is None or out[i] is not None:
                continue
            for cand in free:
                if cand.left:  # it drove off: the tracker may hand its id to the next one in its place
                    continue
                if cand.shop_id == shop_id and det.track_id in cand.track_ids and self._compatible(det.cls, cand):
                    out[i] = cand
                    free.remove(cand)
                    break
        # The tracker tells objects apart: nothing follows by overlap alone an object the tracker has named (a new
        # object's first sighting has no id yet; one the tracker lost a moment is taken back at its place).
        self._assign(out, placed, [c for c in free if c.last_seen == self._prev_sighting_t], lambda c: c.box,
                     FOLLOW_IOU, lambda det, c: not c.track_ids)  # fmt: skip
        settling = [c for c in free if all(c is not o for o in out) and self._settling(c)]
        self._assign(out, placed, settling, self._place, REASSOCIATE_IOU, at_place)
        return out

    def _at_the_edge(self, loose: list[Detection], cands: list[_Candidate]) -> list[tuple[Detection, _Candidate]]:
        """Detections outside every frontage that are an entered object of ours standing on its edge: its ground
        point jitters across the line from frame to frame. Only at its own place (as for a lost object) and never
        under another track id; an object driving out of its frontage is not at its place, so it goes absent.
        One that was never clearly inside (for the entry debounce) never enters this way."""
        tol = self.rule.stationary.tolerance
        out: list[_Candidate | None] = [None] * len(loose)
        self._assign(out, [(d, None) for d in loose], [c for c in cands if c.entered], self._place, REASSOCIATE_IOU,
                     lambda det, c: (det.track_id is None or not c.track_ids or det.track_id in c.track_ids)
                     and ground_shift(det.xyxy, self._place(c)) <= tol)  # fmt: skip
        return [(d, c) for d, c in zip(loose, out, strict=True) if c is not None]

    def _assign(self, out: list[_Candidate | None], placed: Sequence[tuple[Detection, str | None]],
                cands: list[_Candidate], box_of: Callable[[_Candidate], XYXY], min_iou: float,
                allowed: Callable[[Detection, _Candidate], bool]) -> None:  # fmt: skip
        """Greedy best-overlap matching of the unmatched detections to `cands`, in place; a detection's shop must
        be the candidate's (None: outside every frontage, any shop)."""
        pairs = sorted(
            (
                (iou(det.xyxy, box_of(cand)), i, j)
                for i, (det, shop_id) in enumerate(placed)
                if out[i] is None
                for j, cand in enumerate(cands)
                if shop_id in (None, cand.shop_id) and self._compatible(det.cls, cand) and allowed(det, cand)
            ),
            reverse=True,
        )
        used: set[int] = set()
        for score, i, j in pairs:
            if score < min_iou:
                break
            if out[i] is None and j not in used:
                out[i] = cands[j]
                used.add(j)

    def _next_key(self) -> str:
        self._seq += 1
        return f"{self.key_prefix}{self.camera_id}/{self.kind.value}/{self._seq}"

    # -- restarts -----------------------------------------------------------------------------------------------

    def checkpoint(self) -> list[DwellState]:
        """What a restart needs: objects at rest accruing dwell without a case yet, and how long each object with
        an open case has been gone. Objects moving or not yet entered are left out: they have nothing to lose."""
        out = []
        for c in self._cands:
            if c.opened_t is not None:
                absent = 0.0 if self._last_t is None else max(0.0, self._absent_s(c, self._last_t))
                out.append(DwellState(c.key, c.shop_id, c.object_class, c.box, c.first_seen, c.last_seen, 0.0,
                                      opened=True, absent_s=absent))  # fmt: skip
            elif c.entered and c.rest is not None and c.away_since is None and c.rest.still_s > 0:
                out.append(DwellState(c.key, c.shop_id, c.object_class, c.rest.box, c.first_seen, c.rest.t,
                                      c.rest.still_s))  # fmt: skip
            elif c.entered and c.rest is None and c.recent and (since := self._still_since(c, c.box)) < c.last_seen:
                # Standing still for less than the window so far: what it has stood counts after a restart too,
                # once it shows again that it stands still.
                out.append(DwellState(c.key, c.shop_id, c.object_class, c.box, c.first_seen, c.last_seen,
                                      c.last_seen - since))  # fmt: skip
        return out

    def resume(self, state: DwellState) -> bool:
        """Take back a checkpointed object after a restart; False if there is nothing to take it into.

        An object still waiting out its dwell goes on only if it is seen at rest at its place within the exit
        grace of its last sighting (the downtime is bridged like a detector miss), and must be seen standing
        still for `window_s` again before its case opens; otherwise it is forgotten. For an open case (handed
        back by `restore` first) the absence it had built up goes on from the camera's first frame: the
        downtime is unknown time, it adds no absence but does not wipe out what was seen before."""
        if state.opened:
            for cand in self._cands:
                if cand.key == state.key and cand.restored is not None:
                    cand.restored = state.absent_s
                    return True
            return False
        rest = _Rest(state.box, t=state.last_seen_t, u=self._unknown, still_s=state.still_s, steady_since=None)
        self._mark_due(rest, state.last_seen_t)
        cand = _Candidate(state.key, state.shop_id, state.first_seen_t, state.last_seen_t, state.box, rest,
                          u_seen=self._unknown, entered=True)  # fmt: skip
        cand.classes[state.object_class] += 1
        self._cands.append(cand)
        return True

    def restore(self, key: str, shop_id: str, box: XYXY, object_class: str, first_seen_t: float, opened_t: float,
                t: float) -> None:  # fmt: skip
        """Take back an open violation after a restart: when the object is still there it matches this candidate
        and the case goes on; when it left while the process was down, the case clears after the exit grace,
        counted from the camera's first frame (a camera slow to come back never clears a case)."""
        rest = _Rest(box, t=t, u=self._unknown, still_s=max(0.0, opened_t - first_seen_t), due_t=opened_t)
        cand = _Candidate(key, shop_id, first_seen_t, t, box, rest, u_seen=self._unknown, entered=True,
                          opened_t=opened_t, restored=0.0)  # fmt: skip
        cand.classes[object_class] += 1
        self._cands.append(cand)
        if self.situations is not None:
            self.situations.restore(key, shop_id)

    def _event(self, type_: EventType, c: _Candidate, t: float, cleared_t: float | None = None,
               reason: str = "") -> ViolationEvent:  # fmt: skip
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
            dwell_s=(c.rest.still_s if c.rest else 0.0) if cleared_t is None else cleared_t - c.first_seen,
            opened_t=c.opened_t,
            cleared_t=cleared_t,
            reason=reason,
        )
