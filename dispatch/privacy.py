"""Who may see which pixels of a case's evidence: one policy per audience, and a pure renderer.

Passers-by in a camera frame did nothing wrong. The original frame is kept unannotated (the camera's pixels,
nothing burnt in), with the boxes the detector found on it; each audience gets a rendering made from both:

| audience | people | vehicles that are not the subject |
| --- | --- | --- |
| operator, admin (`?original=true`, logged) | as seen | as seen |
| console (staff's default view) | blurred | as seen |
| platform (the city's Open311 `media_url`) | blurred | as seen: enforcement needs plates |
| merchant, citizen (an inspector sees what a merchant sees) | blurred | blurred, whole box |

- **Plates.** COCO has no plate class, so a plate is found by where it can be: a non-subject vehicle is blurred
  whole (its box grown by 5 %). A band at the bottom of the box would miss plates seen from an angle (at the box's
  corner), the enlarged numbers painted on a truck's rear and a bus's side, and a distinctive car names its owner
  without a plate; the merchant's and the citizen's evidence lose nothing they need with it.
- **People** are blurred over their box grown by 15 % (hair, an arm outside the box), pixelated to cells of a
  tenth of the box's longer side (at least 8 px) and smoothed over two cells: a head is one or two cells,
  no face survives.
- **The subject** (the parked vehicle, the goods) keeps its original pixels: after blurring, the subject's boxes
  are copied back from the original, except where a person's grown box covers them. A person standing at the
  stall or leaning on the car is blurred; the rest of the subject stays as the camera saw it.
- **No boxes known** (a case from before evidence privacy, a citizen's photo): nobody looked for people, so for
  an audience that must not see them the whole frame is blurred except the subject's boxes. Fail closed.

The annotation (frontage polygon, subject boxes, caption) is drawn after redaction, so it is never blurred and
nothing under it is kept sharp by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from dispatch.evidence import draw_evidence
from frontage.config import Role

Box = tuple[float, float, float, float]
PERSON_MARGIN = 0.15
VEHICLE_MARGIN = 0.05
CELLS_ACROSS = 10  # cells along a blurred box's longer side
MIN_CELL = 8  # px: a distant person's head is at most one cell
SUBJECT_IOU = 0.5  # a vehicle box this close to a subject box is the subject itself
JPEG_QUALITY = 90


class Audience(StrEnum):
    operator = "operator"
    admin = "admin"
    console = "console"
    merchant = "merchant"
    citizen = "citizen"
    platform = "platform"


@dataclass(frozen=True)
class Policy:
    blur_people: bool
    blur_vehicles: bool  # vehicles that are not the subject (their plates)

    @property
    def original(self) -> bool:
        return not (self.blur_people or self.blur_vehicles)


POLICIES: dict[Audience, Policy] = {
    Audience.operator: Policy(blur_people=False, blur_vehicles=False),
    Audience.admin: Policy(blur_people=False, blur_vehicles=False),
    Audience.console: Policy(blur_people=True, blur_vehicles=False),
    Audience.platform: Policy(blur_people=True, blur_vehicles=False),
    Audience.merchant: Policy(blur_people=True, blur_vehicles=True),
    Audience.citizen: Policy(blur_people=True, blur_vehicles=True),
}

# The rendering GET /cases/{id}/snapshot.jpg serves by the caller's role (staff ask for the original explicitly).
ROLE_AUDIENCE: dict[Role, Audience] = {
    Role.admin: Audience.console,
    Role.operator: Audience.console,
    Role.merchant: Audience.merchant,
    Role.inspector: Audience.merchant,
}
ORIGINAL_ROLES = frozenset({Role.admin, Role.operator})


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def is_subject(box: Box, subjects: Sequence[Box]) -> bool:
    return any(iou(box, s) >= SUBJECT_IOU for s in subjects)


def _rect(box: Box, margin: float, w: int, h: int) -> tuple[int, int, int, int]:
    """The box grown by `margin` of its size on every side, in whole pixels inside the frame."""
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    return (max(0, int(np.floor(x1 - mx))), max(0, int(np.floor(y1 - my))),
            min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my))))  # fmt: skip


def obscure(image: np.ndarray, rect: tuple[int, int, int, int], cell: int | None = None) -> None:
    """Pixelate `rect` in place to cells of `cell` px (default: a tenth of its longer side, at least 8), then
    smooth over two cells: what was inside is gone, only its average colours remain."""
    a, b, c, d = rect
    w, h = c - a, d - b
    if w < 2 or h < 2:
        return
    cell = cell or max(MIN_CELL, int(round(max(w, h) / CELLS_ACROSS)))
    region = image[b:d, a:c]
    small = cv2.resize(region, (max(1, round(w / cell)), max(1, round(h / cell))), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    k = (2 * cell) | 1
    image[b:d, a:c] = cv2.GaussianBlur(coarse, (k, k), 0)


def redact(
    image: np.ndarray,
    subject_boxes: Sequence[Box],
    people: Sequence[Box] | None,
    vehicles: Sequence[Box] | None,
    audience: Audience | str,
) -> np.ndarray:
    """A redacted copy of `image` for `audience` (the caller's frame is never changed). `people` / `vehicles`
    None: nobody looked for them, so an audience that must not see them gets the whole frame blurred except the
    subject."""
    policy = POLICIES[Audience(audience)]
    out = image.copy()
    if policy.original:
        return out
    h, w = image.shape[:2]
    unknown = (policy.blur_people and people is None) or (policy.blur_vehicles and vehicles is None)
    covered: list[tuple[int, int, int, int]] = []  # person areas: blurred even inside the subject's box
    if unknown:
        obscure(out, (0, 0, w, h), cell=max(12, h // 40))
    else:
        if policy.blur_vehicles:
            for v in vehicles or ():
                if not is_subject(v, subject_boxes):
                    obscure(out, _rect(v, VEHICLE_MARGIN, w, h))
        if policy.blur_people:
            for p in people or ():
                rect = _rect(p, PERSON_MARGIN, w, h)
                obscure(out, rect)
                covered.append(rect)
    keep = np.zeros((h, w), dtype=bool)
    for s in subject_boxes:
        a, b, c, d = _rect(s, 0.0, w, h)
        keep[b:d, a:c] = True
    for a, b, c, d in covered:
        keep[b:d, a:c] = False
    out[keep] = image[keep]
    return out


def render_evidence(
    image: np.ndarray,
    subject_boxes: Sequence[Box],
    people: Sequence[Box] | None,
    vehicles: Sequence[Box] | None,
    audience: Audience | str,
    *,
    polygon: Sequence[tuple[float, float]] = (),
    lines: Sequence[str] = (),
    quality: int = JPEG_QUALITY,
) -> bytes:
    """The evidence JPEG for `audience`: redacted by its policy, then annotated (the frontage polygon, the
    subject's boxes, the caption) when a polygon or a caption is given."""
    out = redact(image, subject_boxes, people, vehicles, audience)
    if polygon or lines:
        first = subject_boxes[0] if subject_boxes else None
        out = draw_evidence(out, polygon, first, lines, subject_boxes[1:])
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
