"""Change gate: skip the model for a camera whose picture has not changed since its last inference.

A parked car does not move, and most of a street camera's minutes look the same. Comparing a tiny grey copy
of the frame with the one last sent to the model costs well under a millisecond; the model costs ~100 ms.
A forced re-check every `recheck_s` keeps parked objects confirmed (and catches slow changes), so the rules
never run on stale detections for long. Frigate spends its CPU the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

THUMB = (64, 36)  # 16:9, about 2,300 pixels


def thumbnail(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)


def change(a: np.ndarray, b: np.ndarray, pixel_delta: int = 12) -> float:
    """Share of thumbnail pixels whose brightness moved by more than `pixel_delta` (noise and JPEG/H.264
    shimmer stay below it)."""
    return float(np.mean(np.abs(a - b) > pixel_delta))


@dataclass
class GateDecision:
    infer: bool
    reason: str  # "first", "changed", "recheck", "unchanged"
    change: float


class ChangeGate:
    """Per-camera state: the thumbnail and time of the last frame that went to the model."""

    def __init__(self, min_change: float = 0.004, recheck_s: float = 10.0):
        self.min_change, self.recheck_s = min_change, recheck_s
        self._last: dict[str, tuple[np.ndarray, float]] = {}

    def decide(self, camera_id: str, image: np.ndarray, t: float) -> GateDecision:
        thumb = thumbnail(image)
        last = self._last.get(camera_id)
        if last is None or thumb.shape != last[0].shape:
            decision = GateDecision(True, "first", 1.0)
        else:
            c = change(thumb, last[0])
            if c >= self.min_change:
                decision = GateDecision(True, "changed", c)
            elif t - last[1] >= self.recheck_s:
                decision = GateDecision(True, "recheck", c)
            else:
                return GateDecision(False, "unchanged", c)
        self._last[camera_id] = (thumb, t)
        return decision
