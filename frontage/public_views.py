"""The picture on a shop's public page: now and then, a frame the model saw, with people blurred.

The camera process offers every frame it records; at most once per `every_s` per camera (default 300 s) one
that the model looked at becomes `<snapshot_dir>/views/<camera_id>.jpg`, with every person the model finds
blurred (dispatch.evidence.public_view). The public page draws the shop's polygon on it when it serves it.
Cost: one JPEG every five minutes per camera, plus, where the rules do not watch people, one model call on that
frame for the people (the loaded model, asked for people only): about one call in 600 at two frames a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from detector.types import Detection, Evidence
from dispatch.evidence import PLATED_CLASSES, public_view
from dispatch.privacy import Audience, redact

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
PERSON = "person"


class PublicViews:
    """Writes each camera's public view from frames it is offered, at most once per `every_s`."""

    def __init__(self, folder: Path, people: Callable[[np.ndarray], Sequence[Box]] | None, every_s: float = 300.0,
                 vehicle_classes: frozenset[str] = frozenset(PLATED_CLASSES)):  # fmt: skip
        """`people(image)`: where the people are; None when the frames' own detections include every person.
        Vehicles among the frame's detections (`vehicle_classes`) are blurred whole, as on a citizen's evidence
        (dispatch.privacy): their plates are nobody's business on a public page."""
        self.folder, self.people, self.every_s = Path(folder), people, every_s
        self.vehicle_classes = vehicle_classes
        self._last: dict[str, float] = {}

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
            boxes = [d.xyxy for d in detections if d.cls == PERSON] if self.people is None else self.people(image)
            vehicles = [d.xyxy for d in detections if d.cls in self.vehicle_classes]
            jpeg = public_view(redact(image, [], [], vehicles, Audience.citizen), boxes, [])
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f"{camera_id}.jpg.tmp"
            tmp.write_bytes(jpeg)
            tmp.replace(self.folder / f"{camera_id}.jpg")
        except Exception:  # the public picture is a courtesy: never the camera's problem
            log.exception("camera %s: public view not written", camera_id)
            return False
        return True


def people_finder(detector, rule_classes: set[str]) -> Callable[[np.ndarray], list[Box]] | None:
    """None when the detector already reports people (the frames' detections are enough), else a function that
    asks the same loaded model for people only (a shallow copy: no second model in memory)."""
    if PERSON in rule_classes:
        return None
    only_people = detector.keeping({PERSON})

    def find(image: np.ndarray) -> list[Box]:
        return [d.xyxy for d in only_people.detect([image])[0] if d.cls == PERSON]

    return find
