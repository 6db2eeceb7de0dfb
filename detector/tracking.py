"""Per-camera multi-object tracking with ultralytics' BYTETracker, tuned in seconds for low sample rates.

The tracker only lends identities: every detection passes through with its own box, and the ones the tracker
did not (yet) confirm keep `track_id=None`. The rules re-associate parked objects themselves, so a lost
identity can never split a case.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
from ultralytics.engine.results import Boxes
from ultralytics.trackers.byte_tracker import BYTETracker

from detector.types import Detection
from frontage.config import TrackerConfig


class Tracker:
    """One BYTETracker for one camera. `sample_fps` turns `lost_s` into the tracker's frame buffer."""

    def __init__(self, cfg: TrackerConfig, sample_fps: float):
        args = SimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=cfg.high_thresh,
            track_low_thresh=cfg.low_thresh,
            new_track_thresh=cfg.new_track_thresh,
            track_buffer=max(1, math.ceil(cfg.lost_s * sample_fps)),
            match_thresh=cfg.match_thresh,
            fuse_score=True,
        )
        self._bt = BYTETracker(args)
        self._class_ids: dict[str, int] = {}

    def update(self, detections: list[Detection], shape: tuple[int, int]) -> list[Detection]:
        """Return the same detections, in order, with track ids where the tracker holds one."""
        if not detections:
            self._bt.update(Boxes(np.zeros((0, 6), dtype=np.float32), shape))
            return []
        data = np.array(
            [[*d.xyxy, d.conf, self._class_ids.setdefault(d.cls, len(self._class_ids))] for d in detections],
            dtype=np.float32,
        )
        rows = self._bt.update(Boxes(data, shape))
        ids = {int(r[7]): int(r[4]) for r in rows}
        return [replace(d, track_id=ids.get(i)) for i, d in enumerate(detections)]
