"""Which shop's frontage a box stands in. Pure functions over boxes and prepared polygons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shapely import prepared
from shapely.geometry import Point, Polygon, box

from frontage.config import Presence, PresenceMode

XYXY = tuple[float, float, float, float]


@dataclass(frozen=True)
class Zone:
    """One shop's frontage on one camera."""

    shop_id: str
    camera_id: str
    polygon: Polygon

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prepared", prepared.prep(self.polygon))

    @classmethod
    def from_points(cls, shop_id: str, camera_id: str, points: Sequence[tuple[float, float]]) -> Zone:
        return cls(shop_id, camera_id, Polygon(points))

    @property
    def points(self) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in self.polygon.exterior.coords[:-1]]


def anchor(xyxy: XYXY) -> tuple[float, float]:
    """Bottom-centre of a box: where a vehicle or a stall touches the ground."""
    x1, _, x2, y2 = xyxy
    return ((x1 + x2) / 2.0, y2)


def overlap_fraction(xyxy: XYXY, polygon: Polygon) -> float:
    """Share of the box's area that lies inside the polygon (0 for an empty box)."""
    b = box(*xyxy)
    return polygon.intersection(b).area / b.area if b.area > 0 else 0.0


def is_inside(xyxy: XYXY, zone: Zone, presence: Presence) -> bool:
    if presence.mode is PresenceMode.anchor:
        return zone._prepared.covers(Point(anchor(xyxy)))  # type: ignore[attr-defined]
    return overlap_fraction(xyxy, zone.polygon) >= presence.min_overlap


def assign_zone(xyxy: XYXY, zones: Sequence[Zone], presence: Presence) -> Zone | None:
    """The zone the box counts as inside; where several qualify, the one holding most of the box wins."""
    hits = [z for z in zones if is_inside(xyxy, z, presence)]
    if len(hits) <= 1:
        return hits[0] if hits else None
    return max(hits, key=lambda z: overlap_fraction(xyxy, z.polygon))


def iou(a: XYXY, b: XYXY) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ground_shift(box: XYXY, rest: XYXY) -> float:
    """How far `box`'s ground point lies from `rest`'s, in units of `rest`'s size: the sideways offset over its
    width and the up-down offset over its height, combined. Box jitter of a parked car stays near 0.05; a car
    that rolled on by a tenth of its length is at 0.1 or more."""
    (ax, ay), (rx, ry) = anchor(box), anchor(rest)
    w, h = max(rest[2] - rest[0], 1.0), max(rest[3] - rest[1], 1.0)
    return float(((ax - rx) / w) ** 2 + ((ay - ry) / h) ** 2) ** 0.5
