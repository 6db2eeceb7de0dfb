"""Plain data passed from the detector to the rules: one frame's timestamped detections."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Evidence(StrEnum):
    """What a frame's detections say about that frame. Only what the model saw may open a case; what it did not
    look at may neither add dwell nor clear one."""

    seen = "seen"  # the model ran on this very picture
    unchanged = "unchanged"  # the change gate found the picture the same as the one the model last saw
    carried = "carried"  # a changed picture the model had no time for yet, within detector.max_carry_s
    unknown = "unknown"  # a changed picture the model has not looked at for longer than that


@dataclass(frozen=True, slots=True)
class Detection:
    """One object in one frame. `cls` is the rule-facing class name (after the config's class_map)."""

    cls: str
    conf: float
    xyxy: tuple[float, float, float, float]
    track_id: int | None = None
    # A static object: seconds it has already stood there when first reported (the static-object detector saw
    # it settle; the dwell counts from its arrival, not from when it was recognised as static).
    static_s: float = 0.0

    def to_json(self) -> dict:
        out = {"cls": self.cls, "conf": round(self.conf, 4), "xyxy": [round(v, 1) for v in self.xyxy]}
        if self.track_id is not None:
            out["track_id"] = self.track_id
        if self.static_s:
            out["static_s"] = round(self.static_s, 2)
        return out


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame; `t` is seconds from the start of the recording (or stream)."""

    camera_id: str
    t: float
    index: int
    image: np.ndarray


@dataclass(slots=True)
class FrameDetections:
    """What the rules see for one sampled frame. `image` is kept for evidence snapshots when there is one."""

    camera_id: str
    t: float
    detections: list[Detection] = field(default_factory=list)
    image: np.ndarray | None = None
    frame_index: int | None = None
    evidence: Evidence = Evidence.seen
