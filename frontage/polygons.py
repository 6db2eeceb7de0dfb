"""The rules a frontage polygon must keep, in one place for the config and the zone editor.

A polygon is usable when it has 3+ finite points, is simple (no edge crosses another) and has an area; it must
lie inside its camera's frame; and it must not overlap another shop's frontage on the same camera, unless one of
the two allows it. The config's checks (frontage.config) and the API's zone edits call these same functions, so
an edit the config would refuse is refused before it is saved, with where: which entry, which vertex or edges,
the point of the crossing or of the overlap.

Pure functions over plain points; this module imports no layer (it is part of the shared foundation).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shapely.geometry import LineString, Point, Polygon
from shapely.validation import explain_validity

Points = Sequence[Sequence[float]]
OVERLAP_PX2 = 1.0  # two shops' frontages may share an edge, not an area
MIN_AREA_PX2 = 1.0
_AT = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\s*\]")


@dataclass(frozen=True)
class Flaw:
    """Why one polygon is unusable, and where: the vertex or the edges (edge i runs from vertex i to i+1)."""

    reason: str
    point: tuple[float, float] | None = None
    vertex: int | None = None
    edges: tuple[int, ...] = ()

    @property
    def where(self) -> str:
        if self.vertex is not None:
            return f"vertex {self.vertex}"
        if self.edges:
            return _edges(self.edges)
        return "polygon"


def shape_flaw(points: Points) -> Flaw | None:
    """The first reason the polygon cannot be a frontage (or a fixture), None when it can."""
    if len(points) < 3:
        return Flaw(f"a polygon needs at least 3 points, got {len(points)}")
    for i, p in enumerate(points):
        if len(p) != 2 or not all(isinstance(v, int | float) and math.isfinite(v) for v in p):
            return Flaw("polygon coordinates must be finite numbers", None, i)
    pts = [(float(x), float(y)) for x, y in points]
    poly = Polygon(pts)
    if not poly.is_valid:
        why = explain_validity(poly)
        at = _AT.search(why)
        point = (float(at.group(1)), float(at.group(2))) if at else None
        vertex, edges = _located(pts, point)
        detail = f" (at vertex {vertex})" if vertex is not None else f" ({_edges(edges)} cross there)" if edges else ""
        return Flaw(f"invalid polygon: {why}{detail}", point, vertex, edges)
    if poly.area < MIN_AREA_PX2:
        return Flaw(f"degenerate polygon: area {poly.area:.3g} px² (points are collinear or repeated)",
                    (pts[0][0], pts[0][1]), 0)  # fmt: skip
    return None


def _edges(edges: Sequence[int]) -> str:
    """'edges 0 and 2' (edge i runs from vertex i to vertex i+1, the last back to vertex 0)."""
    return "edge " + str(edges[0]) if len(edges) == 1 else f"edges {', '.join(map(str, edges[:-1]))} and {edges[-1]}"


def _located(pts: list[tuple[float, float]], point: tuple[float, float] | None) -> tuple[int | None, tuple[int, ...]]:
    """The vertex at `point` (a repeated point, a ring touching itself) and the edges through it."""
    if point is None:
        return None, ()
    p = Point(point)
    vertex = next((i for i, q in enumerate(pts) if math.dist(q, point) < 1e-3), None)
    n = len(pts)
    edges = tuple(i for i in range(n) if _segment(pts[i], pts[(i + 1) % n]).distance(p) < 1e-3)
    return vertex, edges


def _segment(a: tuple[float, float], b: tuple[float, float]) -> LineString | Point:
    return LineString([a, b]) if a != b else Point(a)


def outside_vertices(width: float, height: float, points: Points) -> list[int]:
    """Indexes of the vertices outside the width x height frame (its edges count as inside)."""
    return [i for i, (x, y) in enumerate(points) if not (0 <= x <= width and 0 <= y <= height)]


def overlap(a: Points, b: Points) -> tuple[float, tuple[float, float] | None]:
    """The area two valid polygons share (px²) and a point inside the shared part (None when they share none)."""
    pa, pb = Polygon(a), Polygon(b)
    if not pa.bounds or not _boxes_meet(pa.bounds, pb.bounds):
        return 0.0, None
    shared = pa.intersection(pb)
    if shared.is_empty or shared.area <= 0:
        return 0.0, None
    p = shared.representative_point()
    return float(shared.area), (round(float(p.x), 1), round(float(p.y), 1))


def _boxes_meet(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@dataclass(frozen=True)
class Outline:
    """One shop's frontage polygon on one camera, as an editor or a config gives it."""

    shop_id: str
    polygon: Points
    allow_overlap: bool = False


@dataclass(frozen=True)
class Problem:
    """A frontage that breaks a rule: which entry (`index` in the list checked) of which shop, where, why.

    `vertex` is the vertex meant, when one is; `point` the place in the frame to show (the vertex, the crossing
    of two edges, a point inside an overlap)."""

    shop_id: str
    index: int
    where: str
    reason: str
    point: tuple[float, float] | None = None
    vertex: int | None = None


def check_frontages(width: int, height: int, outlines: Iterable[Outline],
                    known_shops: Iterable[str] | None = None) -> list[Problem]:  # fmt: skip
    """Every problem of one camera's frontages, in the order of the list: the shape of each polygon, its place in
    the frame, one polygon per shop, and overlaps between shops. `known_shops` (when given) are the shops a
    frontage may belong to. Overlaps are checked only between polygons that are usable themselves."""
    items = list(outlines)
    known = None if known_shops is None else set(known_shops)
    problems: list[Problem] = []
    usable: list[tuple[int, Outline]] = []
    first_of: dict[str, int] = {}
    for i, o in enumerate(items):
        if known is not None and o.shop_id not in known:
            problems.append(Problem(o.shop_id, i, "shop_id", f"unknown shop {o.shop_id!r}"))
            continue
        if o.shop_id in first_of:
            problems.append(Problem(o.shop_id, i, "shop_id",
                                    f"shop {o.shop_id!r} already has a frontage on this camera (entry "
                                    f"{first_of[o.shop_id]}): one polygon per shop and camera"))  # fmt: skip
            continue
        first_of[o.shop_id] = i
        flaw = shape_flaw(o.polygon)
        if flaw is not None:
            problems.append(Problem(o.shop_id, i, flaw.where, flaw.reason, flaw.point, flaw.vertex))
            continue
        out = outside_vertices(width, height, o.polygon)
        if out:
            k = out[0]
            x, y = (float(v) for v in o.polygon[k])
            listed = ", ".join(f"{j} ({float(o.polygon[j][0]):g}, {float(o.polygon[j][1]):g})" for j in out[:5])
            more = f" and {len(out) - 5} more" if len(out) > 5 else ""
            problems.append(Problem(o.shop_id, i, f"vertex {k}",
                                    f"vertex {listed}{more} outside the {width}x{height} frame",
                                    (x, y), k))  # fmt: skip
            continue
        usable.append((i, o))
    for n, (i, a) in enumerate(usable):
        for j, b in usable[n + 1 :]:
            if a.shop_id == b.shop_id or a.allow_overlap or b.allow_overlap:
                continue
            area, at = overlap(a.polygon, b.polygon)
            if area > OVERLAP_PX2:
                problems.append(Problem(b.shop_id, j, f"overlap with entry {i}",
                                        f"overlaps shop {a.shop_id!r}'s frontage (entry {i}) by {area:.0f} px²; "
                                        "set allow_overlap on one of them if this is intended", at))  # fmt: skip
    return sorted(problems, key=lambda p: p.index)
