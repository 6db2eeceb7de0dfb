"""Render a scenario to an H.264 video, its config and its ground truth; compute the truth from the script.

The truth comes from the script, never from a detector: an actor's object box is placed on the frame at every
video frame time, and the config's own presence test (anchor or overlap, largest-overlap wins) says which
frontage it stands in. Dwell counts only while the script holds the actor still. Occlusion is ignored on
purpose: a parked car hidden by a passer-by is still parked. Rendering uses no randomness, so every run yields
the same frames.

The camera may move over the clip (`Scenario.camera`): the frame is composed in the reference view the config's
polygons are drawn in, then warped by the pose (a bumped or drifting camera); the truth stays in reference
coordinates, because the system is expected to re-register its polygons. A pose showing another still is a
re-aimed camera: nothing counts while it is in effect.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import av
import cv2
import numpy as np
import yaml
from shapely.geometry import Point, Polygon, box

from frontage.config import Config, PresenceMode, Rule, parse_config
from frontage.scenarios.sprites import XYXY, Sprite, load_image, load_sprite, scaled_object_box, sprite_alpha

Keyframe = tuple[float, ...]  # (t, x, y) or (t, x, y, scale factor)
SCALE_DECIMALS = 2  # keyframed scales are rounded to this, so resized sprites can be cached
# A cast shadow by default falls to the left and a little towards the camera, its centre this far from the
# ground point in units of the object's height (low sun: the shadow is about as long as the object is tall).
SHADOW_OFFSET = (-0.5, 0.08)
SHADOW_WIDTH = 0.45  # the shadow's width across its length, as a share of the object's width
SHADOW_BLUR = 0.06  # soft edge: Gaussian sigma as a share of the object's height
FIXTURE_SHARE = 0.5  # an object with this share of its box inside a fixture of its shop is that fixture


@dataclass(frozen=True)
class Actor:
    """A sprite moved along keyframes; (x, y) is where the object's bottom-centre touches the ground.

    A keyframe may carry a fourth value, a factor on `scale`, so a vehicle can shrink as it drives away.
    Before the first and after the last keyframe the actor stays put; outside [visible_from, visible_until)
    it is not drawn and not in the truth.
    """

    sprite: Sprite
    keyframes: Sequence[Keyframe]
    scale: float = 1.0
    visible_from: float | None = None
    visible_until: float | None = None
    name: str = ""
    # Darkening factor of the actor's cast shadow on the ground (0: none, 0.5: half as bright at its core), and
    # where its centre lies from the ground point, in object heights: a shadow may reach into a frontage while
    # the person casting it walks outside.
    shadow: float = 0.0
    shadow_offset: tuple[float, float] = SHADOW_OFFSET

    def __post_init__(self) -> None:
        kfs = tuple(tuple(float(v) for v in k) for k in self.keyframes)
        if not kfs or any(len(k) not in (3, 4) for k in kfs):
            raise ValueError(f"actor {self.label}: keyframes must be (t, x, y) or (t, x, y, scale)")
        if any(b[0] < a[0] for a, b in zip(kfs, kfs[1:], strict=False)):
            raise ValueError(f"actor {self.label}: keyframe times must not decrease")
        object.__setattr__(self, "keyframes", kfs)

    @property
    def label(self) -> str:
        return self.name or self.sprite.name

    def visible(self, t: float) -> bool:
        if self.visible_from is not None and t < self.visible_from:
            return False
        return self.visible_until is None or t < self.visible_until

    def state(self, t: float) -> tuple[float, float, float]:
        """(x, y, scale) at time t, linearly interpolated; two keyframes at one time make a jump at that time."""
        kfs = self.keyframes
        i = max((j for j, k in enumerate(kfs) if k[0] <= t), default=0)
        if t <= kfs[0][0] or i == len(kfs) - 1:
            return self._unpack(kfs[i])
        a, b = kfs[i], kfs[i + 1]
        f = (t - a[0]) / (b[0] - a[0])
        pa, pb = self._unpack(a), self._unpack(b)
        return pa[0] + f * (pb[0] - pa[0]), pa[1] + f * (pb[1] - pa[1]), pa[2] + f * (pb[2] - pa[2])

    def _unpack(self, k: Keyframe) -> tuple[float, float, float]:
        return k[1], k[2], self.scale * (k[3] if len(k) == 4 else 1.0)

    def placement(self, t: float) -> tuple[int, int, float]:
        """Top-left pixel of the scaled sprite and the scale used, so the object's bottom-centre is at (x, y)."""
        x, y, s = self.state(t)
        if any(len(k) == 4 for k in self.keyframes):
            s = round(s, SCALE_DECIMALS)
        ox0, _, ox1, oy1 = scaled_object_box(self.sprite, s)
        return round(x - (ox0 + ox1) / 2), round(y - oy1), s

    def object_box(self, t: float) -> XYXY:
        """The object's box on the frame at time t (not clipped to the frame)."""
        left, top, s = self.placement(t)
        x0, y0, x1, y1 = scaled_object_box(self.sprite, s)
        return left + x0, top + y0, left + x1, top + y1


@dataclass(frozen=True)
class CameraPose:
    """Where the camera looks from time t on (until the next pose): the reference view zoomed about the frame
    centre by `zoom`, then shifted by (dx, dy) pixels. With `background` set the camera is re-aimed at another
    scene: the frame shows that still (a source key) with `actors` (what the new view holds, never in the truth)
    and none of the scenario's own actors."""

    t: float
    dx: float = 0.0
    dy: float = 0.0
    zoom: float = 1.0
    background: str | None = None
    actors: tuple[Actor, ...] = ()

    def __post_init__(self) -> None:
        if self.zoom <= 0:
            raise ValueError(f"camera pose at {self.t} s: zoom must be positive, got {self.zoom}")
        if self.actors and self.background is None:
            raise ValueError(f"camera pose at {self.t} s: actors belong to a re-aimed view (set background)")

    @property
    def reaimed(self) -> bool:
        return self.background is not None

    @property
    def moved(self) -> bool:
        """Whether the warp does anything (a re-aimed pose without shift or zoom shows its still as it is)."""
        return (self.dx, self.dy, self.zoom) != (0.0, 0.0, 1.0)


REFERENCE_POSE = CameraPose(0.0)


@dataclass(frozen=True)
class Drop:
    """A raindrop on the lens (frame coordinates: it stays put when the camera moves): it appears at t at (x, y)
    with the given radius, runs down run_px, faster and faster, and is gone after life_s."""

    t: float
    x: float
    y: float
    radius: float
    life_s: float = 3.0
    run_px: float = 80.0

    def visible(self, t: float) -> bool:
        return self.t <= t < self.t + self.life_s

    def centre(self, t: float) -> tuple[float, float]:
        f = (t - self.t) / self.life_s
        return self.x, self.y + self.run_px * f * f

    def opacity(self, t: float) -> float:
        """Full at once (it lands), fading over the last fifth of its life as the water runs thin."""
        f = (t - self.t) / self.life_s
        return float(min(1.0, max(0.0, (1.0 - f) / 0.2)))


def pose_matrix(pose: CameraPose, size: tuple[int, int]) -> np.ndarray:
    """3x3 map from reference pixel coordinates to frame pixel coordinates: zoom about the frame centre (the
    middle of the pixel grid), then shift. Tests measure registration error against it."""
    cx, cy = (size[0] - 1) / 2, (size[1] - 1) / 2
    z = pose.zoom
    return np.array([[z, 0.0, cx * (1 - z) + pose.dx], [0.0, z, cy * (1 - z) + pose.dy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Scenario:
    name: str
    background: str  # a source key, as for sprites
    duration_s: float
    actors: Sequence[Actor]
    config: dict
    fps: int = 25
    size: tuple[int, int] = (1280, 720)
    description: str = ""
    depth_order: bool = False  # draw nearer actors (lower on the frame) over farther ones, as traffic overlaps
    # Light over the clip: (t, gain) keyframes, linear between them, two at one time a sudden change (clouds,
    # street lights switching on, a camera's auto-exposure). Empty: the still's own light throughout.
    light: tuple[tuple[float, float], ...] = ()
    # Camera poses over the clip, piecewise constant: the pose at t is the last with pose.t <= t; before the
    # first (or with none) the camera looks at the reference view the config's polygons are drawn in.
    camera: tuple[CameraPose, ...] = ()
    rain: tuple[Drop, ...] = ()  # drops on the lens, drawn last, over whatever the camera sees
    # The part of the still the camera shows (xyxy in the still's pixels), zoomed to `size`: a camera closer to
    # the street, where small real objects of a still (parked bikes) are as large as the model needs them.
    view: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        if any(b.t < a.t for a, b in zip(self.camera, self.camera[1:], strict=False)):
            raise ValueError(f"scenario {self.name}: camera pose times must not decrease")

    def pose(self, t: float) -> CameraPose:
        return next((p for p in reversed(self.camera) if p.t <= t), REFERENCE_POSE)

    def gain(self, t: float) -> float:
        keys = self.light
        if not keys:
            return 1.0
        i = max((j for j, k in enumerate(keys) if k[0] <= t), default=0)
        if t <= keys[0][0] or i == len(keys) - 1:
            return keys[i][1]
        (t0, g0), (t1, g1) = keys[i], keys[i + 1]
        return g0 + (t - t0) / (t1 - t0) * (g1 - g0)

    @property
    def n_frames(self) -> int:
        return round(self.duration_s * self.fps)

    def frame_times(self) -> list[float]:
        return [i / self.fps for i in range(self.n_frames)]


@dataclass
class RenderResult:
    video: Path
    config_path: Path
    truth_path: Path
    frames: int
    cases: list[dict] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------- ground truth
# Deliberately written apart from zones.geometry: the truth must not share a bug with the code it checks.


def clip_box(b: XYXY, size: tuple[int, int]) -> XYXY | None:
    """The part of a box inside the frame (detectors only report that part), or None when nothing is."""
    w, h = size
    x0, y0, x1, y1 = max(0.0, b[0]), max(0.0, b[1]), min(float(w), b[2]), min(float(h), b[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _inside(b: XYXY, poly: Polygon, rule: Rule) -> bool:
    if rule.presence.mode is PresenceMode.anchor:
        return poly.covers(Point((b[0] + b[2]) / 2, b[3]))
    return _overlap(b, poly) >= rule.presence.min_overlap


def _overlap(b: XYXY, poly: Polygon) -> float:
    rect = box(*b)
    return poly.intersection(rect).area / rect.area if rect.area > 0 else 0.0


def shop_at(b: XYXY | None, zones: Sequence[tuple[str, Polygon]], rule: Rule) -> str | None:
    """The shop whose frontage the box counts as inside; with several, the one holding most of the box."""
    if b is None:
        return None
    hits = [(shop, poly) for shop, poly in zones if _inside(b, poly, rule)]
    if not hits:
        return None
    return max(hits, key=lambda hp: _overlap(b, hp[1]))[0]


def frontage_zones(cfg: Config, camera_id: str) -> list[tuple[str, Polygon]]:
    """(shop id, polygon) of every frontage on the camera."""
    return [(s.id, Polygon(f.polygon)) for s in cfg.shops for f in s.frontages if f.camera_id == camera_id]


def _runs(shops: Sequence[str | None], times: Sequence[float]) -> list[tuple[str, float, float | None]]:
    """Maximal runs of the same shop: (shop, start time, first time after the run or None at the end)."""
    runs: list[tuple[str, float, float | None]] = []
    start = 0
    for shop, group in groupby(shops):
        end = start + len(list(group))
        if shop is not None:
            runs.append((shop, times[start], times[end] if end < len(times) else None))
        start = end
    return runs


def fixture_zones(cfg: Config, camera_id: str) -> list[tuple[str, Polygon]]:
    """(shop id, polygon) of every permitted fixture in the camera's view."""
    cam = next(c for c in cfg.cameras if c.id == camera_id)
    return [(f.shop_id, Polygon(f.polygon)) for f in cam.fixtures]


def is_fixture(b: XYXY, shop: str, fixtures: Sequence[tuple[str, Polygon]]) -> bool:
    """Whether the box is one of its shop's permitted fixtures (most of it inside one): it never counts."""
    return any(owner == shop and _overlap(b, poly) >= FIXTURE_SHARE for owner, poly in fixtures)


def merge_per_shop(cases: list[dict]) -> list[dict]:
    """One case per shop and rule: cases whose open intervals [opened, cleared) overlap (a row of crates set out
    together, taken in one by one) become one, opening at the earliest opening and clearing at the latest
    clearing; its object class and actor are the first object's, `actors` names them all."""
    out: list[dict] = []
    ordered = sorted(cases, key=lambda c: (c["shop_id"], c["kind"], c["opened_at_s"]))  # stable: script order
    for case in ordered:
        last = out[-1] if out else None
        if (
            last is not None
            and (last["shop_id"], last["kind"]) == (case["shop_id"], case["kind"])
            and (last["cleared_at_s"] is None or case["opened_at_s"] < last["cleared_at_s"])
        ):
            ends = (last["cleared_at_s"], case["cleared_at_s"])
            last["cleared_at_s"] = None if None in ends else max(ends)
            last["actors"].append(case["actor"])
        else:
            out.append({**case, "actors": [case["actor"]]})
    return out


def expected_cases(scenario: Scenario) -> list[dict]:
    """The cases the rules must open for this script, sorted by opening time.

    Goods of any kind (sprites of class static_object) count for a rule only where it runs the static-object
    detector; an object that is one of its shop's fixtures never counts; while the camera is re-aimed nothing
    counts (the system must notice it and stop judging); with `one_case_per_shop` a rule's cases at one shop
    that overlap in time are one case.
    """
    cfg = parse_config(copy.deepcopy(scenario.config), f"scenario {scenario.name}")
    camera_id = cfg.cameras[0].id
    zones = frontage_zones(cfg, camera_id)
    fixtures = fixture_zones(cfg, camera_id)
    times = scenario.frame_times()
    looking = [not scenario.pose(t).reaimed for t in times]
    cases: list[dict] = []
    for actor in scenario.actors:
        cls = cfg.detector.class_map.get(actor.sprite.coco_class, actor.sprite.coco_class)
        boxes = [
            clip_box(actor.object_box(t), scenario.size) if actor.visible(t) and on else None
            for t, on in zip(times, looking, strict=True)
        ]
        # Only standing still counts: the actor stands at a frame where it is at the same place one frame before
        # or after (its arrival and its last frame before leaving count; every frame of a motion does not).
        at = [actor.state(t)[:2] for t in times]
        still = [at[i] in (at[i - 1] if i else None, at[i + 1] if i + 1 < len(at) else None) for i in range(len(at))]
        for kind, rule in cfg.rules.items():
            if not rule.enabled or cls not in rule.watched_classes:
                continue
            shops = [shop_at(b, zones, rule) if s else None for b, s in zip(boxes, still, strict=True)]
            shops = [None if s and is_fixture(b, s, fixtures) else s for s, b in zip(shops, boxes, strict=True)]
            for shop, a, b in _runs(shops, times):
                if (b if b is not None else scenario.duration_s) - a >= rule.dwell_s:
                    cases.append(
                        {
                            "camera_id": camera_id,
                            "shop_id": shop,
                            "kind": kind.value,
                            "object_class": cls,
                            "opened_at_s": round(a + rule.dwell_s, 3),
                            "cleared_at_s": None if b is None else round(b, 3),
                            "actor": actor.label,
                        }
                    )
    per_shop = {kind.value for kind, rule in cfg.rules.items() if rule.one_case_per_shop}
    cases = [c for c in cases if c["kind"] not in per_shop] + merge_per_shop(
        [c for c in cases if c["kind"] in per_shop]
    )
    return sorted(cases, key=lambda c: (c["opened_at_s"], c["shop_id"], c["kind"]))


# ---------------------------------------------------------------- compositing


@lru_cache(maxsize=8)
def load_still(key: str, size: tuple[int, int], view: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A still (or the `view` part of it) at the scenario's frame size (cached and read-only: every frame starts
    from it)."""
    img = load_image(key)
    if view is not None:
        x0, y0, x1, y1 = view
        img = img[y0:y1, x0:x1]
    if (img.shape[1], img.shape[0]) != tuple(size):
        img = cv2.resize(img, tuple(size), interpolation=cv2.INTER_AREA)
        img.flags.writeable = False
    return img


def background(scenario: Scenario) -> np.ndarray:
    return load_still(scenario.background, tuple(scenario.size), scenario.view)


def paste(frame: np.ndarray, sprite: np.ndarray, alpha: np.ndarray, left: int, top: int) -> None:
    """Alpha-blend a sprite onto the frame in place at (left, top); parts off the frame are cut."""
    fh, fw = frame.shape[:2]
    sh, sw = sprite.shape[:2]
    x0, y0, x1, y1 = max(0, left), max(0, top), min(fw, left + sw), min(fh, top + sh)
    if x1 <= x0 or y1 <= y0:
        return
    src = sprite[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.float32)
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left, None]
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.rint(roi + a * (src - roi)).astype(np.uint8)


@lru_cache(maxsize=256)
def shadow_patch(w: int, h: int, offset: tuple[float, float]) -> tuple[np.ndarray, int, int]:
    """A soft elongated ellipse (float32 0..1) for an object w x h pixels, and where the patch's top-left lies
    relative to the ground point. The ellipse reaches from the ground point along `offset` to twice it."""
    ox, oy = offset[0] * h, offset[1] * h
    length = max(1.0, float(np.hypot(ox, oy)))  # semi-axis along the shadow: it touches the ground point
    across = max(1.0, SHADOW_WIDTH * w / 2)
    sigma = max(1.0, SHADOW_BLUR * h)
    r = round(length + 3 * sigma) + 1
    size = 2 * r + 1
    patch = np.zeros((size, size), np.float32)
    angle = float(np.degrees(np.arctan2(oy, ox)))
    cv2.ellipse(patch, ((r, r), (2 * length, 2 * across), angle), 1.0, -1, cv2.LINE_AA)
    patch = cv2.GaussianBlur(patch, (0, 0), sigma)
    patch.flags.writeable = False
    return patch, round(ox) - r, round(oy) - r


def cast_shadow(frame: np.ndarray, actor: Actor, t: float) -> None:
    """Darken the ground under and beside the actor in place (before any actor is drawn: shadows lie under)."""
    x0, y0, x1, y1 = actor.object_box(t)
    x, y = (x0 + x1) / 2, y1
    patch, px, py = shadow_patch(max(1, round(x1 - x0)), max(1, round(y1 - y0)), actor.shadow_offset)
    left, top = round(x) + px, round(y) + py
    fh, fw = frame.shape[:2]
    ph, pw = patch.shape
    fx0, fy0, fx1, fy1 = max(0, left), max(0, top), min(fw, left + pw), min(fh, top + ph)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    dark = 1.0 - actor.shadow * patch[fy0 - top : fy1 - top, fx0 - left : fx1 - left, None]
    frame[fy0:fy1, fx0:fx1] = np.rint(frame[fy0:fy1, fx0:fx1].astype(np.float32) * dark).astype(np.uint8)


def draw_actors(frame: np.ndarray, actors: Sequence[Actor], t: float, depth_order: bool) -> None:
    """Shadows first, then the actors in list order (later ones on top), or with `depth_order` from the farthest
    (highest ground point on the frame) to the nearest."""
    shown = [a for a in actors if a.visible(t)]
    if depth_order:
        shown.sort(key=lambda a: a.state(t)[1])
    for actor in shown:
        if actor.shadow > 0:
            cast_shadow(frame, actor, t)
    for actor in shown:
        left, top, s = actor.placement(t)
        paste(frame, load_sprite(actor.sprite, s), sprite_alpha(actor.sprite, s), left, top)


def reference_frame(scenario: Scenario, t: float, base: np.ndarray | None = None) -> np.ndarray:
    """The frame at time t as the camera sees it in its reference pose: the still, the actors and the light."""
    frame = (background(scenario) if base is None else base).copy()
    draw_actors(frame, scenario.actors, t, scenario.depth_order)
    return _light(frame, scenario.gain(t))


def _light(frame: np.ndarray, gain: float) -> np.ndarray:
    return frame if gain == 1.0 else cv2.convertScaleAbs(frame, alpha=gain)


def warp(frame: np.ndarray, pose: CameraPose) -> np.ndarray:
    """The frame as a camera in this pose sees it; the border the shift uncovers repeats the edge pixels."""
    if not pose.moved:
        return frame
    h, w = frame.shape[:2]
    m = pose_matrix(pose, (w, h))[:2]
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@lru_cache(maxsize=64)
def _drop_alpha(radius: int) -> np.ndarray:
    """A drop's soft outline: a disc a little taller than wide, with a soft rim."""
    r = max(2, radius)
    size = 2 * r + 1
    a = np.zeros((size + r // 2, size), np.float32)
    cv2.ellipse(a, ((r, r + r // 4), (2 * r * 0.8, 2 * r), 0.0), 1.0, -1, cv2.LINE_AA)
    a = cv2.GaussianBlur(a, (0, 0), max(1.0, r / 5))
    a.flags.writeable = False
    return a


def draw_drop(frame: np.ndarray, drop: Drop, t: float) -> None:
    """A water drop on the lens in place: the scene behind it blurred out of focus and a little brighter."""
    alpha = _drop_alpha(round(drop.radius))
    ah, aw = alpha.shape
    x, y = drop.centre(t)
    left, top = round(x) - aw // 2, round(y) - ah // 2
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(0, left), max(0, top), min(fw, left + aw), min(fh, top + ah)
    if x1 <= x0 or y1 <= y0:
        return
    pad = round(drop.radius)
    bx0, by0, bx1, by1 = max(0, x0 - pad), max(0, y0 - pad), min(fw, x1 + pad), min(fh, y1 + pad)
    blurred = cv2.GaussianBlur(frame[by0:by1, bx0:bx1], (0, 0), max(1.0, drop.radius / 2))
    water = blurred[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0].astype(np.float32) * 1.12 + 20.0
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left, None] * drop.opacity(t)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(np.rint(roi + a * (water - roi)), 0, 255).astype(np.uint8)


def compose(scenario: Scenario, t: float, base: np.ndarray | None = None) -> np.ndarray:
    """The frame at time t: the reference frame (or, re-aimed, the other still with its own actors), warped by
    the camera pose in effect, then the raindrops on the lens."""
    pose = scenario.pose(t)
    if pose.reaimed:
        frame = load_still(pose.background, tuple(scenario.size)).copy()
        draw_actors(frame, pose.actors, t, depth_order=True)
        frame = _light(frame, scenario.gain(t))
    else:
        frame = reference_frame(scenario, t, base)
    frame = warp(frame, pose)
    drops = [d for d in scenario.rain if d.visible(t)]
    for drop in drops:  # the frame is this call's own array by now: the still and base are copied above
        draw_drop(frame, drop, t)
    return frame


# ---------------------------------------------------------------- output


def scenario_config(scenario: Scenario, video_name: str) -> dict:
    """The scenario's config with the first camera reading the rendered file (relative to the YAML)."""
    data = copy.deepcopy(scenario.config)
    data["cameras"][0]["source"] = video_name
    return data


def encode(scenario: Scenario, path: Path) -> int:
    """Write every frame as H.264 yuv420p, pts = frame index at time base 1/fps.

    The frames carry their own 1/fps time base: the stream's changes to the muxer's (1/12800 for mp4) once
    the header is written, and frame pts read in that base would collapse to 0.
    """
    base = background(scenario)
    w, h = scenario.size
    tb = Fraction(1, scenario.fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=scenario.fps, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.gop_size = 50
        stream.time_base = tb
        for i, t in enumerate(scenario.frame_times()):
            frame = av.VideoFrame.from_ndarray(compose(scenario, t, base), format="bgr24")
            frame.pts = i
            frame.time_base = tb
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return scenario.n_frames


def render(scenario: Scenario, out_dir: str | Path) -> RenderResult:
    """Render `<name>.mp4`, `<name>.yaml` (its config) and `<name>.truth.json` into out_dir."""
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    video, cfg_path, truth_path = (out / f"{scenario.name}{ext}" for ext in (".mp4", ".yaml", ".truth.json"))
    cases = expected_cases(scenario)
    frames = encode(scenario, video)
    cfg_path.write_text(
        yaml.safe_dump(scenario_config(scenario, video.name), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    truth = {"scenario": scenario.name, "duration_s": scenario.duration_s, "fps": scenario.fps, "cases": cases}
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return RenderResult(video, cfg_path, truth_path, frames, cases, time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m frontage.scenarios.render", description=__doc__)
    p.add_argument("out_dir", help="folder for the videos, configs and truth files")
    p.add_argument("names", nargs="*", help="scenario names (default: all)")
    a = p.parse_args(argv)
    from frontage.scenarios.catalog import ROUTED_SCENARIOS, SCENARIOS

    SCENARIOS = {**SCENARIOS, **ROUTED_SCENARIOS}  # noqa: N806
    unknown = [n for n in a.names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    for name in a.names or list(SCENARIOS):
        r = render(SCENARIOS[name], a.out_dir)
        print(
            f"{name}: {r.video} {r.config_path} {r.truth_path} ({r.frames} frames, {len(r.cases)} cases, "
            f"{r.seconds:.1f}s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
