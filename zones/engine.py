"""All rules on all cameras: one `process(frame)` call per sampled frame returns that frame's events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from detector.types import FrameDetections
from frontage.config import Config, Fixture, RuleKind
from zones.dwell import DwellState, DwellTracker, ViolationEvent
from zones.geometry import XYXY, Zone

REDRAWN = "frontage redrawn"


def zones_from_config(cfg: Config) -> list[Zone]:
    return [Zone.from_points(s.id, f.camera_id, f.polygon) for s in cfg.shops for f in s.frontages]


class ZoneEngine:
    """Routes each frame's detections to the dwell trackers of its camera, one per enabled rule."""

    def __init__(self, cfg: Config, key_prefix: str = ""):
        """`key_prefix` makes violation keys unique across runs that share a store (a run or process id)."""
        self.cfg = cfg
        self.zones = zones_from_config(cfg)
        self._trackers: dict[str, list[DwellTracker]] = {
            cam.id: [
                DwellTracker(cam.id, kind, rule, self.zones, key_prefix)
                for kind, rule in cfg.rules.items()
                if rule.enabled
            ]
            for cam in cfg.cameras
        }
        for cam in cfg.cameras:
            self.set_fixtures(cam.id, cam.fixtures)

    def set_fixtures(self, camera_id: str, fixtures: Sequence[Fixture]) -> None:
        """A camera's baseline of permitted fixtures (its latest version): they never open a goods case."""
        zones = [(f.shop_id, Zone.from_points(f.shop_id, camera_id, f.polygon)) for f in fixtures]
        for tr in self._trackers.get(camera_id, []):
            if tr.kind is RuleKind.out_of_store_trading:
                tr.set_fixtures(zones)

    def warp(self, camera_id: str, polygons: dict[str, Sequence[tuple[float, float]]],
             move: Callable[[XYXY], XYXY]) -> None:  # fmt: skip
        """The camera's view moved a little: its frontages are now `polygons` (by shop), and `move` maps a box
        of the old view onto the new one."""
        zones = [Zone.from_points(shop, camera_id, pts) for shop, pts in polygons.items()]
        for tr in self._trackers.get(camera_id, []):
            tr.warp(zones, move)

    def set_frontages(self, camera_id: str, polygons: Sequence[tuple[str, Sequence[tuple[float, float]]]], t: float,
                      reason: str = REDRAWN) -> list[ViolationEvent]:  # fmt: skip
        """Hot reload: the camera's frontages are now `polygons` [(shop, points)], at time `t` of the frames.
        Open violations whose object no longer stands in its shop's new frontage clear now (their events, with
        `reason`, are returned for the case recorder); those still inside go on with the same dwell and case."""
        if camera_id not in self._trackers:
            raise KeyError(f"unknown camera {camera_id!r}")
        new = [Zone.from_points(shop, camera_id, pts) for shop, pts in polygons]
        self.zones = [z for z in self.zones if z.camera_id != camera_id] + new
        return [ev for tr in self._trackers[camera_id] for ev in tr.redraw(new, t, reason)]

    def frontages(self, camera_id: str) -> list[tuple[str, list[tuple[float, float]]]]:
        """The camera's current frontages [(shop, points)]."""
        return [(z.shop_id, z.points) for z in self.zones if z.camera_id == camera_id]

    def restore(self, camera_id: str, kind: RuleKind, **violation) -> bool:
        """Hand an open violation back to its tracker after a restart; False if its camera or rule is gone."""
        for tr in self._trackers.get(camera_id, []):
            if tr.kind is kind:
                tr.restore(**violation)
                return True
        return False

    def resume(self, camera_id: str, kind: RuleKind, state: DwellState) -> bool:
        """Hand back a checkpointed object (after `restore` of the open cases); False if it has no place to go."""
        return any(tr.resume(state) for tr in self._trackers.get(camera_id, []) if tr.kind is kind)

    def checkpoint(self) -> list[tuple[str, RuleKind, DwellState]]:
        """(camera, rule, state) of every object a restart must not forget: what a checkpoint saves."""
        return [(cam, tr.kind, st) for cam, trs in self._trackers.items() for tr in trs for st in tr.checkpoint()]

    def awaiting_look(self, camera_id: str) -> bool:
        """Whether a case on this camera waits only for a frame the model sees (carried or unchanged frames never
        open one): the service asks for a fresh look instead of waiting for the next re-check."""
        return any(tr.awaiting_look for tr in self._trackers.get(camera_id, []))

    def process(self, frame: FrameDetections, when: dt.datetime) -> list[ViolationEvent]:
        """`when` is the frame's wall time (recording start + t); it decides active hours."""
        trackers = self._trackers.get(frame.camera_id)
        if trackers is None:
            raise KeyError(f"frame from unknown camera {frame.camera_id!r}")
        local = when.astimezone(self.cfg.tz)
        events: list[ViolationEvent] = []
        for tr in trackers:
            events.extend(tr.update(frame.t, local, frame.detections, frame.evidence))
        return events
