"""One camera's eyes beside the model: the static-object detector and the view guard, and what they change.

Both replay and `frontage run` feed every sampled frame through `look` and every frame the model saw through
`augment`. The view guard compares the camera's view with its reference frame: a small move (bumped, zoomed a
little) re-registers the frontages, the fixtures and the static-object models with the homography, so an object
standing through the move keeps its place, dwell and case; a camera re-aimed, covered, black or out of focus
suspends the camera's rules (its frames are unknown time: no dwell, no clearing, no escalation) until the view
is right again or an operator confirms the new one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from detector.static_objects import StaticObjectDetector
from detector.types import Detection
from detector.view import ViewGuard, ViewReport, disagreement, warp_box, warp_points
from frontage.config import EXPLAINING_CLASSES, Camera, Config, Fixture
from zones.dwell import ViolationEvent
from zones.engine import ZoneEngine

log = logging.getLogger(__name__)

Points = list[tuple[float, float]]
# (camera id, kind, reason, data): a camera ledger entry ("view_reregistered", "camera_moved", ...)
CameraEvent = Callable[[str, str, str, dict], None]
SUSPENDING = ("moved", "tampered")


@dataclass
class ViewStatus:
    state: str = "ok"
    reason: str = ""
    since: dt.datetime | None = None
    shift_px: float = 0.0

    def as_dict(self) -> dict:
        return {"view_state": self.state, "view_reason": self.reason, "view_shift_px": round(self.shift_px, 2),
                "view_since": self.since.isoformat() if self.since else None}  # fmt: skip


class CameraWatch:
    """The static-object detector and the view guard of one camera, wired to the zone engine."""

    def __init__(self, cfg: Config, camera: Camera, zones: ZoneEngine, on_event: CameraEvent | None = None,
                 on_regions: Callable[[list[Points]], None] | None = None):  # fmt: skip
        self.cfg, self.camera, self.zones = cfg, camera, zones
        self.on_event = on_event or (lambda *_: None)
        self.on_regions = on_regions or (lambda _: None)
        self.reference_polygons: dict[str, Points] = {
            s.id: [tuple(p) for p in f.polygon] for s in cfg.shops for f in s.frontages if f.camera_id == camera.id
        }
        self.fixtures: list[Fixture] = list(camera.fixtures)  # in the reference view
        self.baseline_version = 0
        self.h = np.eye(3)  # reference view -> current view, as applied to the frontages
        # Reference view -> the guard's reference picture: the identity until an operator confirms a new view or
        # the process restarts on a view it had re-registered (then the first frame is the guard's reference).
        self.base_h = np.eye(3)
        self.status = ViewStatus()
        size = (camera.width, camera.height)
        so = cfg.static_objects
        goods = cfg.rules.out_of_store_trading.classes
        explaining = frozenset(EXPLAINING_CLASSES) | frozenset(cfg.rules.illegal_parking.classes)
        self.static = StaticObjectDetector(so, size, list(self.reference_polygons.values()), explaining,
                                           frozenset(goods)) if so else None  # fmt: skip
        if self.static is not None:
            self.static.set_fixtures([f.polygon for f in self.fixtures])
        self.guard: ViewGuard | None = None
        self._latest: np.ndarray | None = None
        self._sudden = 0  # frames of a sudden change so far

    @property
    def suspended(self) -> bool:
        """The view is not the one the frontages were drawn on: the camera's rules wait."""
        return self.status.state in SUSPENDING

    def polygons(self) -> dict[str, Points]:
        return {shop: warp_points(self.h, pts) for shop, pts in self.reference_polygons.items()}

    def look(self, image: np.ndarray, t: float, now: dt.datetime) -> bool:
        """Every sampled frame: check the view when due, teach the static-object models. True when the model
        should look at this frame now (the view changed). Goods that settled wait for the gate's next re-check:
        their arrival goes with them, so their dwell loses nothing, and a quiet street's model calls stay few."""
        self._latest = image
        vcfg = self.cfg.detector.view
        if vcfg.enabled and self.guard is None:
            anchors = [p for pts in self.reference_polygons.values() for p in pts]
            self.guard = ViewGuard(vcfg, image, anchors)
        wants = False
        if self.guard is not None:
            report = self.guard.check(image, t)
            if report is not None:
                wants = self._on_report(report, image, now)
        if self.static is not None and not self.suspended:
            upd = self.static.update(image, t)
            self._sudden = self._sudden + 1 if upd.global_change else 0
            if self.guard is not None and self._sudden in (1, 2):
                # A bumped camera is a sudden change too: the view is checked at once, twice (two agreeing checks
                # re-register it), not on every frame of a busy street's passing buses.
                self.guard.request()
        return wants

    def augment(self, dets: list[Detection], t: float) -> list[Detection]:
        """The model's detections of a frame it saw, plus the static objects they do not explain."""
        if self.static is None or self.suspended:
            return dets
        return self.static.detect(dets, t)

    def to_reference(self, pts: Sequence[tuple[float, float]]) -> Points:
        """Points on the view as it is now, in the reference view the frontages and fixtures are kept in."""
        return warp_points(np.linalg.inv(self.h), pts)

    def set_fixtures(self, fixtures: Sequence[Fixture], version: int) -> None:
        """A new baseline version (fixtures in the reference view)."""
        self.fixtures, self.baseline_version = list(fixtures), version
        self._apply_fixtures()

    def redraw(self, polygons: Sequence[tuple[str, Sequence[tuple[float, float]]]], t: float,
               reason: str) -> list[ViolationEvent]:  # fmt: skip
        """The zone editor saved new frontages (by shop, in the reference view): the zone engine, the static-object
        models' watched region and the change gate follow at once. Returns the events of the cases that clear
        because their object no longer stands in its shop's new frontage."""
        self.reference_polygons = {shop: [(float(x), float(y)) for x, y in pts] for shop, pts in polygons}
        polys = self.polygons()
        events = self.zones.set_frontages(self.camera.id, list(polys.items()), t, reason)
        if self.static is not None:
            self.static.warp(np.eye(3), list(polys.values()))  # same view, new region: what it learned stays
        self.on_regions(list(polys.values()))
        return events

    def confirm(self, now: dt.datetime) -> dict:
        """An operator confirmed the camera's current view: the guard compares with it from now on, the frontages
        stay where they are on it, the static-object models start again, and the rules resume."""
        if self._latest is None or self.guard is None:
            return {"camera_id": self.camera.id, "confirmed": False, "reason": "no frame from this camera yet"}
        was = self.status.state
        self.guard.rebase(self._latest)
        self.base_h = self.h.copy()
        if self.static is not None:
            old = self.static
            self.static = StaticObjectDetector(old.cfg, old.frame_size, list(self.polygons().values()),
                                               old.explaining, old.goods)  # fmt: skip
            self._apply_fixtures()
        self.status = ViewStatus("ok", "view confirmed by an operator", now)
        self.on_event(self.camera.id, "view_rebased", "the confirmed view is the camera's reference from now on",
                      {"homography": _as_list(self.h), "polygons": _polys_data(self.polygons())})  # fmt: skip
        return {"camera_id": self.camera.id, "confirmed": True, "was": was}

    def resume_view(self, homography: Sequence[Sequence[float]]) -> None:
        """After a restart: the frontages as the last process left them (re-registered or confirmed). The first
        frame becomes the guard's reference, on which they stand so."""
        self.h = np.asarray(homography, np.float64)
        self.base_h = self.h.copy()
        polys = self.polygons()
        self.zones.warp(self.camera.id, polys, lambda b: b)  # open cases come back from the store as seen
        if self.static is not None:
            old = self.static
            self.static = StaticObjectDetector(old.cfg, old.frame_size, list(polys.values()), old.explaining,
                                               old.goods)  # fmt: skip
        self._apply_fixtures()
        self.on_regions(list(polys.values()))

    # -- internals -------------------------------------------------------------------------------------------

    def _on_report(self, report: ViewReport, image: np.ndarray, now: dt.datetime) -> bool:
        before = self.status.state
        if report.state in SUSPENDING:
            if before != report.state:
                self.status = ViewStatus(report.state, report.reason, now, report.shift_px)
                kind = "camera_moved" if report.state == "moved" else "view_tampered"
                log.warning("camera %s: %s; its rules are suspended", self.camera.id, report.reason)
                self.on_event(self.camera.id, kind, report.reason + "; rules suspended", {"inliers": report.inliers})
            return False
        if report.homography is not None:
            h = np.asarray(report.homography, np.float64) @ self.base_h
            anchors = self._anchors()
            if anchors and disagreement(h, self.h, anchors) >= self.cfg.detector.view.reregister_px:
                self._reregister(h, report, now)
        if before in SUSPENDING:
            self.status = ViewStatus(report.state, report.reason, now, report.shift_px)
            self.on_event(self.camera.id, "view_restored", f"view back: {report.reason}; rules resume", {})
            return True
        self.status.state, self.status.shift_px = report.state, report.shift_px
        if report.state == "ok":
            self.status.reason = report.reason
        return before != report.state

    def _anchors(self) -> Points:
        return [p for pts in self.reference_polygons.values() for p in pts]

    def _reregister(self, h: np.ndarray, report: ViewReport, now: dt.datetime) -> None:
        """Move the frontages, fixtures, dwell trackers and static-object models from the applied view to `h`."""
        delta = h @ np.linalg.inv(self.h)
        self.h = h
        polys = self.polygons()
        self.zones.warp(self.camera.id, polys, lambda b: warp_box(delta, b))
        if self.static is not None:
            self.static.warp(delta, list(polys.values()))
        self._apply_fixtures()
        self.on_regions(list(polys.values()))
        self.status = ViewStatus(report.state, report.reason, now, report.shift_px)
        log.info("camera %s: %s; frontages re-registered", self.camera.id, report.reason)
        self.on_event(self.camera.id, "view_reregistered", f"{report.reason}; frontages re-registered",
                      {"homography": _as_list(h), "shift_px": round(report.shift_px, 2),
                       "polygons": _polys_data(polys)})  # fmt: skip

    def _apply_fixtures(self) -> None:
        warped = [f.model_copy(update={"polygon": warp_points(self.h, f.polygon)}) for f in self.fixtures]
        self.zones.set_fixtures(self.camera.id, warped)
        if self.static is not None:
            self.static.set_fixtures([f.polygon for f in warped])


def _as_list(h: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in np.asarray(h).tolist()]


def _polys_data(polys: dict[str, Points]) -> dict[str, list[list[float]]]:
    return {k: [list(p) for p in v] for k, v in polys.items()}


VIEW_EVENTS = ("view_reregistered", "view_rebased")  # camera ledger entries that carry the applied homography
