"""The picture on a shop's public page, and the zone editor's: now and then, a frame the model saw, redacted.

The camera process offers every frame it records; at most once per `every_s` per camera (default 300 s) one
that the model looked at becomes `<snapshot_dir>/views/<camera_id>.jpg`, with every person the model finds
blurred and every vehicle blurred whole, as on a citizen's evidence (dispatch.privacy). The public page draws the
shop's polygon on it when it serves it. Cost: one JPEG every five minutes per camera, plus, where the rules do not
watch people or some vehicles, one model call on that frame for them (dispatch.evidence.privacy_finder: the
loaded model, asked for those classes only): about one call in 600 at two frames a second.

The same redacted frame, not the camera's raw one, is what the camera process pushes to the zone editor and the
heat map (`latest`, frontage.zone_sync): staff draw frontages on the street's geometry, and passers-by stay
blurred there too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from detector.types import Detection, Evidence
from dispatch.evidence import public_view
from dispatch.privacy import Audience, redact

log = logging.getLogger(__name__)


class PublicViews:
    """Writes each camera's public view from frames it is offered, at most once per `every_s`."""

    def __init__(self, folder: Path, find: Callable[[np.ndarray], Sequence[Detection]] | None,
                 classes: tuple[frozenset[str], frozenset[str]], every_s: float = 300.0):  # fmt: skip
        """`find(image)`: the people and vehicles the frame's own detections leave out (the rules do not watch
        them); None when those detections have them all. `classes`: (people, vehicles), from
        dispatch.evidence.privacy_classes. A vehicle's plate is nobody's business on a public page."""
        self.folder, self.find, self.every_s = Path(folder), find, every_s
        self.people_classes, self.vehicle_classes = classes
        self._last: dict[str, float] = {}
        self.latest: dict[str, np.ndarray] = {}  # camera id -> its newest redacted frame (no polygons drawn)

    def due(self, camera_id: str, now_s: float) -> bool:
        last = self._last.get(camera_id)
        return last is None or now_s - last >= self.every_s

    def offer(self, camera_id: str, image: np.ndarray | None, detections: Sequence[Detection], evidence: Evidence,
              now_s: float) -> bool:  # fmt: skip
        """Write the camera's view from this frame when one is due and the model saw it; True when written."""
        if image is None or evidence is not Evidence.seen or not self.due(camera_id, now_s):
            return False
        self._last[camera_id] = now_s  # a failure waits for the next turn, too: never a retry on every frame
        try:
            seen = [*detections, *(self.find(image) if self.find else ())]
            boxes = [d.xyxy for d in seen if d.cls in self.people_classes]
            vehicles = [d.xyxy for d in seen if d.cls in self.vehicle_classes]
            shown = redact(image, [], boxes, vehicles, Audience.citizen)
            jpeg = public_view(shown, [], [])
            self.latest[camera_id] = shown
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f"{camera_id}.jpg.tmp"
            tmp.write_bytes(jpeg)
            tmp.replace(self.folder / f"{camera_id}.jpg")
        except Exception:  # the public picture is a courtesy: never the camera's problem
            log.exception("camera %s: public view not written", camera_id)
            return False
        return True
