"""Recorded detections played as a live camera: each line is released when the clock reaches its time.

A camera whose source is a `.jsonl` detections file runs the whole service without pixels or a model,
which is how drills and fault tests drive a real `frontage run`. After a restart the feed skips what the
clock has already passed, like a live camera would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from detector.sources import JsonlDetectionsSource
from detector.types import FrameDetections


class DetectionsFeed:
    def __init__(self, path: str | Path, camera_id: str, skip_before: float = 0.0):
        """`skip_before`: feed seconds already past when this process starts; a live camera never shows them."""
        self.camera_id = camera_id
        self._it: Iterator[FrameDetections] = (
            fd for fd in JsonlDetectionsSource(path) if fd.camera_id == camera_id and fd.t >= skip_before
        )
        self._next: FrameDetections | None = next(self._it, None)
        self.state = "online"

    def due(self, t: float) -> list[FrameDetections]:
        """Frames whose time is at or before `t` (seconds on the feed's own scale); the newest last."""
        out = []
        while self._next is not None and self._next.t <= t:
            out.append(self._next)
            self._next = next(self._it, None)
        if self._next is None:
            self.state = "ended"
        return out
