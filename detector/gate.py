"""Change gate: skip the model for a camera whose picture has not changed where it matters.

A parked car does not move, and most of a street camera's minutes look the same. Comparing a tiny grey copy
of the frame with the one last sent to the model costs well under a millisecond; the model costs ~100 ms.
Only change inside the camera's region counts (its frontage polygons, widened by a margin): a bus passing on
the far lane cannot open a case, so it need not wake the model. A forced re-check every `recheck_s` keeps
parked objects confirmed (and catches slow changes), so the rules never run on stale detections for long.
Frigate spends its CPU the same way (motion masks, detection only where motion is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

THUMB = (64, 36)  # 16:9, about 2,300 pixels
CHANGE_URGENCY = 1e6  # a change outranks any re-check...
STARVED = 3.0  # ...unless the re-check is this many periods overdue
REGION_MARGIN = 0.08  # share of the frame width a region is widened by: an object's box reaches past its anchor


def thumbnail(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)


def region_mask(polygons: Sequence[Sequence[tuple[float, float]]], frame: tuple[int, int],
                margin: float = REGION_MARGIN) -> np.ndarray:  # fmt: skip
    """Thumbnail-sized boolean mask of the polygons (in frame pixels, frame = (width, height)), widened by
    `margin` x the thumbnail width on every side."""
    sx, sy = THUMB[0] / frame[0], THUMB[1] / frame[1]
    mask = np.zeros((THUMB[1], THUMB[0]), dtype=np.uint8)
    for pts in polygons:
        scaled = np.round(np.array([(x * sx, y * sy) for x, y in pts])).astype(np.int32)
        cv2.fillPoly(mask, [scaled], 1)
    grow = max(1, round(margin * THUMB[0]))
    mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return mask.astype(bool)


def change(a: np.ndarray, b: np.ndarray, pixel_delta: int = 12, mask: np.ndarray | None = None) -> float:
    """Share of thumbnail pixels whose brightness moved by more than `pixel_delta` (noise and H.264 shimmer stay
    below it), counting only pixels inside `mask` when given. The share stays one of the whole thumbnail, so a
    threshold means an object's size in the picture whatever the region's size."""
    moved = np.abs(a - b) > pixel_delta
    if mask is not None:
        moved &= mask
    return float(np.mean(moved))


@dataclass
class GateDecision:
    infer: bool
    reason: str  # "first", "changed", "recheck", "requested", "unchanged"
    change: float
    thumb: np.ndarray | None = None
    t: float = 0.0
    urgency: float = 0.0  # who goes first when the model has no time for every frame due: the highest

    @property
    def priority(self) -> float:
        """Sort key (ascending) for the frames due in one round."""
        return -self.urgency


class ChangeGate:
    """Per-camera state: the thumbnail and time of the last frame that went to the model, and the region."""

    def __init__(self, min_change: float = 0.004, recheck_s: float = 10.0):
        self.min_change, self.recheck_s = min_change, recheck_s
        self._last: dict[str, tuple[np.ndarray, float]] = {}
        self._regions: dict[str, tuple[tuple[int, int], Sequence[Sequence[tuple[float, float]]], np.ndarray]] = {}
        self._requested: set[str] = set()

    def request(self, camera_id: str) -> None:
        """The camera's next frame goes to the model as urgently as a change, even if nothing changed."""
        self._requested.add(camera_id)

    def set_region(self, camera_id: str, polygons: Sequence[Sequence[tuple[float, float]]],
                   frame: tuple[int, int]) -> None:  # fmt: skip
        """Only change inside these polygons (frame pixels for a frame of `frame` = (width, height)) counts."""
        self._regions[camera_id] = (frame, polygons, region_mask(polygons, frame))

    def _mask(self, camera_id: str, image: np.ndarray) -> np.ndarray | None:
        region = self._regions.get(camera_id)
        if region is None:
            return None
        frame, polygons, mask = region
        size = (image.shape[1], image.shape[0])
        if size != frame:  # the camera sends another size than configured: scale the polygons with it
            scaled = [[(x * size[0] / frame[0], y * size[1] / frame[1]) for x, y in pts] for pts in polygons]
            self._regions[camera_id] = (size, scaled, mask := region_mask(scaled, size))
        return mask

    def decide(self, camera_id: str, image: np.ndarray, t: float, *, commit: bool = True) -> GateDecision:
        """Should this frame go to the model? With `commit=False` the caller calls `sent()` once it did (a
        frame due but held back for lack of time stays due)."""
        thumb = thumbnail(image)
        last = self._last.get(camera_id)
        # Urgency orders the frames due when the model has no time for them all. A change (something may have
        # arrived or left: the rules wait on it) goes before any re-check (a confirmation of a picture the model
        # has seen), the longest waiting first; a re-check overdue by STARVED x recheck_s jumps the queue, so
        # under load confirmations slow down, reactions do not, and nothing waits for ever.
        if last is None or thumb.shape != last[0].shape:
            decision = GateDecision(True, "first", 1.0, thumb, t, urgency=float("inf"))
        else:
            c = change(thumb, last[0], mask=self._mask(camera_id, image))
            waited = t - last[1]
            if c >= self.min_change:
                decision = GateDecision(True, "changed", c, thumb, t, CHANGE_URGENCY + waited)
            elif camera_id in self._requested:
                decision = GateDecision(True, "requested", c, thumb, t, CHANGE_URGENCY + waited)
            elif waited >= self.recheck_s:
                starved = waited >= STARVED * max(self.recheck_s, 1.0)
                urgency = (2 * CHANGE_URGENCY if starved else 0.0) + waited
                decision = GateDecision(True, "recheck", c, thumb, t, urgency)
            else:
                return GateDecision(False, "unchanged", c, thumb, t)
        if commit:
            self.sent(camera_id, decision)
        return decision

    def sent(self, camera_id: str, decision: GateDecision) -> None:
        """The frame behind `decision` went to the model: later frames compare with it."""
        if decision.thumb is not None:
            self._last[camera_id] = (decision.thumb, decision.t)
        self._requested.discard(camera_id)
