"""New static objects of any kind ("abandoned object" detection): what is set out in a frontage and stays there.

The COCO model names a few goods (a chair, a potted plant); what shops set out is crates, racks, stalls and
parasols. Two background models per camera, on a small colour copy of the watched area (the frontages widened
by a margin): a long-term one (`learn_s`) of the empty street and a short-term one (`settle_s`, about the last
frames) of what is there now. A pixel that differs from the long-term background but matches the short-term one,
for `min_static_s` without a break, belongs to something new that stopped there. Every pixel of an object set
out settles at once, so its region is whole when first reported, and its arrival (when its pixels began to
differ from the street) is reported with it. Its connected regions, large and
compact enough, are detections of class `static_object` for the goods rule. What real street cameras do to the
pixels, and how each is kept from opening a case:

- **Slow light** (sunrise, clouds): each frame's light is matched to the background (the median ratio over the
  background pixels) before comparing, and the long-term model follows the empty street over `learn_s`.
- **Sudden global light** (street lights, auto-exposure): the same matching; what still differs over more than
  `global_change_frac` of the watched area at once is a global change. The short-term model starts again from
  the new picture and the long-term one takes the new picture outside the static objects it holds, so the
  change opens nothing (an object set out in the same seconds is missed, never invented).
- **Shadows**: a pixel that darkens by the same factor in every colour channel is in shadow, not an object
  (brightening alike is not excused: white goods on grey paving do that); moving shadows also never settle
  into the short-term model.
- **Camera shake** of 1-3 px: a pixel differs only if it lies outside the range of the background's 3x3
  neighbourhood at the analysis scale (about +-4 px in a 720p frame).
- **Rain on the lens and compression noise**: the change must last `min_static_s` without a break, be at least
  `min_area_px` / `min_area_frac` large and at least `min_solidity` compact (area over convex hull area).
- **People and vehicles**: a static region inside the box of a person or vehicle the model finds now, or
  found standing there in the last `STOOD_MEMORY_S`, or that was already there when the model saw a person or
  vehicle over it (in the last `EXPLAINED_MEMORY_S`), is that person or vehicle standing still; it is left to
  its rule. A region nothing explains is reported only once `CONFIRM_LOOKS` model looks in a row found it so
  (one look that missed a bus in a queue makes no goods of it). Goods the model names keep the model's class
  and box; a frame where the model misses them, the static evidence carries their last box and class on.
  Goods already found stay found while a passer-by stands in front of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.types import Detection
from detector.view import warp_box, warp_points
from frontage.config import STATIC_OBJECT, StaticObjects

XYXY = tuple[float, float, float, float]
REGION_MARGIN = 0.06  # share of the frame width the frontages are widened by
EXPLAINED_MEMORY_S = 120.0  # a person or vehicle the model saw explains what already stood there then
STOOD_MEMORY_S = 15.0  # where a person or vehicle stood still, the model may miss it this long: still them
CONFIRM_LOOKS = 2  # model looks in a row that must find a static region unexplained before it is reported
GOODS_MEMORY_S = 15.0
LIGHT_SPREAD = 0.10  # channels whose ratios to the background differ less than this changed only in light
LIGHT_RANGE = (0.3, 1.0)  # ...darker, within this range: a shadow. Brighter is an object (a white parasol on grey
# paving changes every channel alike too); light that brightens the whole street is matched frame by frame.
ABS_FLOOR = 10.0  # grey levels: dark pixels' relative noise is large
STATIC_CONF = 0.5
WARMUP_EVERY_S = 3.0  # warm-up frames this far apart make the median of the empty street
MAX_GAP_S = 5.0  # a longer gap between two frames (a dark or suspended camera) restarts every arrival
TEXTURE_MIN = 0.03  # local brightness spread, as a share of the brightness, below which ground has no texture
TEXTURE_NCC = 0.4  # correlation of the local texture with the background's that a shadow keeps
ARRIVAL_PERCENTILE = 10  # of its pixels' arrival times: a region's arrival (robust to a few noisy pixels)
GLOBAL_HOLD_FRAMES = 4  # frames a sudden or global change waits for the view guard before learning goes on
JUMP_FRAC = 0.08  # a rise of the changed share of the watched area from one frame to the next this large is sudden
GHOST_EDGES = 0.7  # a region whose outline is this much weaker now than in the background is a ghost
HOLD_DECAY = 0.25  # static seconds lost per second while something moving hides a static pixel


@dataclass(frozen=True)
class StaticBlob:
    """A static region in full-frame pixels."""

    box: XYXY
    area_px: float
    solidity: float
    since: float  # when most of it began to differ from the empty street: its arrival


@dataclass(frozen=True)
class StaticUpdate:
    """What one frame did to the models: `global_change` asks whoever watches the view to look (a bumped camera
    is a global change too)."""

    light_gain: float
    changed_frac: float
    global_change: bool
    static_frac: float


@dataclass
class _Memory:
    box: XYXY
    cls: str
    conf: float
    t: float
    hits: int = 1  # frames it was seen at this place: more than one, it stands there


@dataclass
class StaticObjectDetector:
    """One camera's background models. `update` learns from every sampled frame; `detect` turns the current
    static regions, minus what the model's boxes explain, into detections."""

    cfg: StaticObjects
    frame_size: tuple[int, int]  # (width, height) of the camera's frames
    regions: Sequence[Sequence[tuple[float, float]]]  # the frontage polygons, full-frame pixels
    explaining: frozenset[str] = frozenset({"person", "car", "truck", "bus", "motorcycle", "bicycle"})
    goods: frozenset[str] = frozenset()
    _t: float | None = field(default=None, init=False)
    _long: np.ndarray | None = field(default=None, init=False)
    _short: np.ndarray | None = field(default=None, init=False)
    _still: np.ndarray | None = field(default=None, init=False)  # seconds each pixel has been static
    _since: np.ndarray | None = field(default=None, init=False)  # since when each pixel differs from the street
    _explained: list[_Memory] = field(default_factory=list, init=False)
    _goods: list[_Memory] = field(default_factory=list, init=False)
    _reported: list[tuple[XYXY, float]] = field(default_factory=list, init=False)  # (box, arrival) last frame
    _looks: list[tuple[XYXY, int]] = field(default_factory=list, init=False)  # unexplained regions, model looks
    _cur: np.ndarray | None = field(default=None, init=False)  # the last frame, light matched
    _edge_maps: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False)  # of _cur and _long
    _boot: list[np.ndarray] | None = field(default=None, init=False)  # warm-up frames, until WARMUP_S
    _t0: float = field(default=0.0, init=False)
    _hold: int = field(default=0, init=False)  # frames still to wait out a sudden or global change
    _last_changed: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._set_regions(self.regions)
        self.set_fixtures([])

    # -- geometry --------------------------------------------------------------------------------------------

    def _set_regions(self, regions: Sequence[Sequence[tuple[float, float]]]) -> None:
        """The analysis crop: the frontages' bounding box, widened, at analysis scale, and the mask within it."""
        w, h = self.frame_size
        self.scale = self.cfg.analysis_width / w
        aw, ah = self.cfg.analysis_width, max(1, round(h * self.scale))
        mask = np.zeros((ah, aw), np.uint8)
        for pts in regions:
            cv2.fillPoly(mask, [np.round(np.asarray(pts, np.float64) * self.scale).astype(np.int32)], 1)
        grow = max(1, round(REGION_MARGIN * aw))
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            self.crop, self.mask = (0, 0, 0, 0), np.zeros((0, 0), bool)
            return
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        self.crop = (x0, y0, x1, y1)
        self.mask = mask[y0:y1, x0:x1].astype(bool)
        self.regions = [list(map(tuple, p)) for p in regions]

    def set_fixtures(self, polygons: Sequence[Sequence[tuple[float, float]]]) -> None:
        """Permitted fixtures (full-frame polygons): their pixels are no object, so goods set out beside a
        fixture stand alone instead of merging into one region with it."""
        self._fixture_polys = [list(p) for p in polygons]
        mask = np.zeros((self.crop[3] - self.crop[1], self.crop[2] - self.crop[0]), np.uint8)
        for pts in polygons:
            scaled = np.asarray(pts, np.float64) * self.scale - np.array(self.crop[:2], np.float64)
            cv2.fillPoly(mask, [np.round(scaled).astype(np.int32)], 1)
        self._fixture_mask = mask.astype(bool)

    def _small(self, image: np.ndarray) -> np.ndarray:
        """The analysis crop of a full frame: only the watched part is resized (the costly step)."""
        x0, y0, x1, y1 = self.crop
        k = 1.0 / self.scale
        part = image[round(y0 * k) : round(y1 * k), round(x0 * k) : round(x1 * k)]
        return cv2.resize(part, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) + 1.0

    def warp(self, h: np.ndarray, regions: Sequence[Sequence[tuple[float, float]]]) -> None:
        """The camera moved a little (`h`: old full-frame pixels -> new) and the frontages were re-registered to
        `regions`: carry the models over, so goods standing through the move stay one object with its time."""
        old_crop, old = self.crop, (self._long, self._short, self._still, self._since)
        self._hold, self._cur = 0, None
        self._set_regions(regions)
        self.set_fixtures([warp_points(h, p) for p in self._fixture_polys])
        if old[0] is None or not self.mask.size:
            self._long = self._short = self._still = self._since = None
            return
        s = np.diag([self.scale, self.scale, 1.0])
        ox0, oy0 = old_crop[:2]
        nx0, ny0, nx1, ny1 = self.crop
        to_old = np.array([[1, 0, ox0], [0, 1, oy0], [0, 0, 1]], np.float64)
        to_new = np.array([[1, 0, -nx0], [0, 1, -ny0], [0, 0, 1]], np.float64)
        m = to_new @ s @ np.asarray(h, np.float64) @ np.linalg.inv(s) @ to_old
        size = (nx1 - nx0, ny1 - ny0)
        flags = cv2.INTER_LINEAR
        self._long, self._short = (cv2.warpPerspective(a, m, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
                                   for a in old[:2])  # fmt: skip
        self._still = cv2.warpPerspective(old[2], m, size, flags=cv2.INTER_NEAREST, borderValue=0)
        self._since = cv2.warpPerspective(old[3], m, size, flags=cv2.INTER_NEAREST, borderValue=np.inf)
        if self._boot is not None:  # still warming up: go on from the carried-over street
            self._boot = [self._long.copy()]
        for mem in (*self._explained, *self._goods):
            mem.box = warp_box(h, mem.box)
        self._reported = [(warp_box(h, b), since) for b, since in self._reported]
        self._looks = [(warp_box(h, b), n) for b, n in self._looks]

    # -- learning --------------------------------------------------------------------------------------------

    def update(self, image: np.ndarray, t: float) -> StaticUpdate:
        """Learn from one sampled frame (BGR, full size) at time `t` (seconds)."""
        if not self.mask.size:
            return StaticUpdate(1.0, 0.0, False, 0.0)
        cur = self._small(image)
        if self._long is None or self._t is None or t <= self._t:
            if self._long is None:
                self._long, self._short = cur.copy(), cur.copy()
                self._still = np.zeros(cur.shape[:2], np.float32)
                self._since = np.full(cur.shape[:2], np.inf, np.float32)
                self._t0, self._boot = t, ([cur] if self.cfg.warmup_s > 0 else None)
            self._t = t if self._t is None else max(self._t, t)
            return StaticUpdate(1.0, 0.0, False, 0.0)
        if self._boot is not None:
            return self._warm_up(cur, t)
        dt = min(t - self._t, MAX_GAP_S)  # a gap (a dark camera) learns no more than a few frames' worth
        if t - self._t > MAX_GAP_S:
            # Nobody saw the frontage meanwhile: what stands there now counts from now, and must settle again.
            self._since = np.where(np.isfinite(self._since), np.maximum(self._since, t), np.inf).astype(np.float32)
            self._still[:] = 0.0
        self._t = t
        cfg, roi = self.cfg, self.mask
        static_now = self._still >= cfg.min_static_s
        bg = roi & ~static_now
        gain = _light_gain(cur, self._long, bg)
        cur /= gain
        self._cur = cur
        diff_long = _differs(cur, self._long, cfg.threshold)
        changed = float(diff_long[roi].mean())
        jump, self._last_changed = changed - self._last_changed > JUMP_FRAC, changed
        if self._hold == 0 and (jump or changed > cfg.global_change_frac):
            self._hold = GLOBAL_HOLD_FRAMES
        if self._hold > 0:
            # A sudden or global change: for a few frames nothing is learnt. It may be a bumped camera, which the
            # view guard re-registers (the models follow, see `warp`), or a bus filling the view. A global change
            # the light matching cannot explain that lasts starts the short-term model again, and the long-term
            # one takes the new picture except under the static objects it holds: it opens nothing.
            self._hold -= 1
            if self._hold == 0 and changed > cfg.global_change_frac:
                self._short = cur.copy()
                keep = static_now[..., None]
                self._long = np.where(keep, self._long, cur)
                self._still = np.where(static_now, self._still, 0.0).astype(np.float32)
                self._since = np.where(static_now, self._since, np.inf).astype(np.float32)
                self._last_changed = 0.0
            return StaticUpdate(gain, changed, True, float(static_now[roi].mean()))
        self._since = np.where(diff_long, np.minimum(self._since, t), np.inf).astype(np.float32)
        settled = ~_differs(cur, self._short, cfg.threshold)
        candidate = diff_long & settled & roi
        # Static for longer; back to the empty street: gone at once; hidden by something moving: held a while.
        held = np.maximum(self._still - HOLD_DECAY * dt, 0.0)
        self._still = np.where(candidate, self._still + dt, np.where(diff_long, held, 0.0)).astype(np.float32)
        a_short = min(1.0, dt / cfg.settle_s) if cfg.settle_s > 0 else 1.0
        self._short += a_short * (cur - self._short)
        a_long = min(1.0, dt / cfg.learn_s) if cfg.learn_s > 0 else 1.0
        learn = (~diff_long & ~(self._still >= cfg.min_static_s))[..., None]
        self._long += np.where(learn, a_long * (cur - self._long), 0.0).astype(np.float32)
        return StaticUpdate(gain, changed, False, float((self._still >= cfg.min_static_s)[roi].mean()))

    # -- detections ------------------------------------------------------------------------------------------

    def blobs(self, hide: Iterable[XYXY] = ()) -> list[StaticBlob]:
        """The static regions large and compact enough, outside the `hide` boxes (full-frame pixels)."""
        if self._still is None:
            return []
        self._edge_maps = None
        cfg = self.cfg
        mask = ((self._still >= cfg.min_static_s) & self.mask & ~self._fixture_mask).astype(np.uint8)
        x0, y0 = self.crop[:2]
        for b in hide:
            bx0, by0, bx1, by1 = (round(v * self.scale) for v in b)
            mask[max(0, by0 - y0) : max(0, by1 - y0 + 1), max(0, bx0 - x0) : max(0, bx1 - x0 + 1)] = 0
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        full_px = 1.0 / (self.scale * self.scale)
        w, h = self.frame_size
        min_area = max(cfg.min_area_px, cfg.min_area_frac * w * h)
        out = []
        for i in range(1, n):
            area = float(stats[i, cv2.CC_STAT_AREA]) * full_px
            if area < min_area:
                continue
            pts = cv2.findNonZero((labels == i).astype(np.uint8))
            hull = float(cv2.contourArea(cv2.convexHull(pts))) + float(stats[i, cv2.CC_STAT_AREA]) ** 0.5
            solidity = min(1.0, stats[i, cv2.CC_STAT_AREA] / max(hull, 1.0))
            if solidity < cfg.min_solidity:
                continue
            if self._ghost(labels == i):
                continue
            # Goods set out one after another merge into one region: it is there since the first of them.
            since = float(np.percentile(self._since[labels == i], ARRIVAL_PERCENTILE))
            bx, by, bw, bh = (int(v) for v in stats[i, :4])
            box = ((bx + x0) / self.scale, (by + y0) / self.scale, (bx + bw + x0) / self.scale,
                   (by + bh + y0) / self.scale)  # fmt: skip
            out.append(StaticBlob(tuple(round(v, 1) for v in box), round(area, 1), round(solidity, 3), since))  # type: ignore[arg-type]
        return out

    def _warm_up(self, cur: np.ndarray, t: float) -> StaticUpdate:
        """The first `warmup_s`: the empty street is the median of frames a few seconds apart (whatever drove or
        walked through, and whatever stood there only at the first frame, is not the street). Nothing is
        reported meanwhile; goods already set out when the camera starts are part of the street (a miss, never
        a false case)."""
        self._short = cur.copy()
        done = t - self._t0 >= self.cfg.warmup_s
        if t - self._t >= WARMUP_EVERY_S or done:
            self._t = t
            self._boot.append(cur)
            self._long = np.median(np.stack(self._boot), axis=0).astype(np.float32)
        if done:
            self._boot = None
            self._t = t
        return StaticUpdate(1.0, 0.0, False, 0.0)

    def _ghost(self, region: np.ndarray) -> bool:
        """Something that stood there when the background was learnt (a car parked at start-up, a shadow) and
        left: the edges around the region are in the background, not in the picture now. The street it
        uncovered becomes background at once."""
        if self._cur is None:
            return False
        ring = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
        if not ring.any():
            return False
        if self._edge_maps is None:  # once per frame's regions, not per region
            self._edge_maps = (_edges(self._cur), _edges(self._long))
        now, before = self._edge_maps[0][ring].mean(), self._edge_maps[1][ring].mean()
        if now >= GHOST_EDGES * before:
            return False
        # All of the street it uncovered, not only the part that settled first.
        ys, xs = np.nonzero(region)
        box = (slice(max(0, ys.min() - 2), ys.max() + 3), slice(max(0, xs.min() - 2), xs.max() + 3))
        uncovered = _differs(self._cur[box], self._long[box], self.cfg.threshold) | region[box]
        self._long[box][uncovered] = self._cur[box][uncovered]
        self._still[box][uncovered] = 0.0
        self._since[box][uncovered] = np.inf
        return True

    def detect(self, dets: Sequence[Detection], t: float) -> list[Detection]:
        """The model's detections plus the static objects they do not explain (see the module docstring)."""
        ov = self.cfg.explain_overlap
        for d in dets:
            if d.cls in self.explaining:
                _remember(self._explained, d, t)
            elif d.cls in self.goods:
                _remember(self._goods, d, t)
        self._explained = [m for m in self._explained if t - m.t <= EXPLAINED_MEMORY_S]
        self._goods = [m for m in self._goods if t - m.t <= GOODS_MEMORY_S]
        # What the model sees now, and whoever stood still somewhere lately (a walker's trail hides nothing).
        hide = [_grow(m.box, 0.1) for m in self._explained if m.t == t or (m.hits > 1 and t - m.t <= STOOD_MEMORY_S)]
        seen_goods = [d for d in dets if d.cls in self.goods]
        out = list(dets)
        reported: list[tuple[XYXY, float]] = []
        new_looks: list[tuple[XYXY, int]] = []
        blobs = self.blobs(hide)
        for blob in blobs:
            if any(_inside_share(blob.box, d.xyxy) >= ov or _inside_share(d.xyxy, blob.box) >= ov for d in seen_goods):
                continue  # the model names it: its own detection stands
            mem = next((m for m in self._goods if _inside_share(blob.box, m.box) >= ov
                        or _inside_share(m.box, blob.box) >= ov), None)  # fmt: skip
            if mem is not None:  # the model names it, but missed it this frame: its last box and class go on
                out.append(Detection(mem.cls, mem.conf, mem.box))
                continue
            known = any(_iou(b, blob.box) >= 0.3 for b, _ in self._reported)  # goods found before: they stay
            if not known and any(_inside_share(blob.box, _grow(m.box, 0.1)) >= ov and blob.since <= m.t
                                 for m in self._explained):  # fmt: skip
                continue  # it was there when the model saw a person or vehicle standing there: that is what it is
            looks = 1 + next((n for b, n in self._looks if _iou(b, blob.box) >= 0.5), 0)
            new_looks.append((blob.box, looks))
            if looks < CONFIRM_LOOKS and not known:
                continue  # one model look that missed a vehicle standing there must not make goods of it
            out.append(self._static(blob.box, blob.since, t))
            reported.append((blob.box, blob.since))
        self._looks = new_looks
        # A static object already reported that a passer-by now stands in front of is still there as long as its
        # pixels are: only what was never reported is left to the person or vehicle whose box covers it.
        for box, since in self._reported:
            if any(_iou(box, b) >= 0.3 for b, _ in reported) or self._static_share(box) < 0.5:
                continue
            if any(_inside_share(box, b) >= ov for b in hide):
                out.append(self._static(box, since, t))
                reported.append((box, since))
        self._reported = reported
        return out

    @staticmethod
    def _static(box: XYXY, since: float, t: float) -> Detection:
        static_s = max(0.0, t - since) if np.isfinite(since) else 0.0
        return Detection(STATIC_OBJECT, STATIC_CONF, box, static_s=round(static_s, 2))

    def _static_share(self, box: XYXY) -> float:
        """Share of the box's pixels (at analysis scale) that are static now."""
        if self._still is None:
            return 0.0
        x0, y0 = self.crop[:2]
        bx0, by0, bx1, by1 = (round(v * self.scale) for v in box)
        part = self._still[max(0, by0 - y0) : max(0, by1 - y0), max(0, bx0 - x0) : max(0, bx1 - x0)]
        return float((part >= self.cfg.min_static_s).mean()) if part.size else 0.0


def _remember(memory: list[_Memory], d: Detection, t: float) -> None:
    for m in memory:
        if _iou(m.box, d.xyxy) >= 0.5 and m.cls == d.cls:
            m.box, m.conf, m.t, m.hits = d.xyxy, d.conf, t, m.hits + 1
            return
    memory.append(_Memory(d.xyxy, d.cls, d.conf, t))


def _light_gain(cur: np.ndarray, ref: np.ndarray, where: np.ndarray) -> float:
    """The frame's light relative to the background: the median brightness ratio over background pixels."""
    if not where.any():
        return 1.0
    ratio = _brightness(cur)[where] / _brightness(ref)[where]
    return float(np.clip(np.median(ratio), 0.1, 10.0))


def _edges(img: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the brightness, relative to it (light-independent)."""
    grey = _brightness(img)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    return np.sqrt(gx * gx + gy * gy) / grey


def _brightness(img: np.ndarray) -> np.ndarray:
    return img[..., 0] + img[..., 1] + img[..., 2]


def _differs(cur: np.ndarray, ref: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels that differ from `ref` by more than the threshold beyond the range of ref's 3x3 neighbourhood (shake),
    and not as a shadow does: darker by the same factor in every channel, with the texture of the ground still
    showing through (a dim board or a dark bin darkens alike too, but hides the paving's texture). Channels are
    taken one by one: numpy's reductions over a last axis of 3 cost more than the whole comparison."""
    kernel = np.ones((3, 3), np.uint8)
    lo, hi = cv2.erode(ref, kernel), cv2.dilate(ref, kernel)
    tol = np.maximum(threshold * ref, ABS_FLOOR)
    oor = (cur < lo - tol) | (cur > hi + tol)
    ratio = cur / ref
    c = [ratio[..., i] for i in range(3)]
    rmax, rmin = np.maximum(np.maximum(c[0], c[1]), c[2]), np.minimum(np.minimum(c[0], c[1]), c[2])
    shade = (rmax - rmin < LIGHT_SPREAD) & (rmin > LIGHT_RANGE[0]) & (rmax < LIGHT_RANGE[1])
    changed = oor[..., 0] | oor[..., 1] | oor[..., 2]
    if shade.any():
        shade &= _same_texture(_brightness(cur), _brightness(ref))
    return changed & ~shade


def _same_texture(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where b's local texture (5x5) still shows in a, whatever the light: zero-mean normalised cross-correlation,
    or ground too smooth to tell (then the benefit of the doubt goes to light)."""
    k = (5, 5)
    ma, mb = cv2.blur(a, k), cv2.blur(b, k)
    va = np.maximum(cv2.blur(a * a, k) - ma * ma, 0.0)
    vb = np.maximum(cv2.blur(b * b, k) - mb * mb, 0.0)
    cov = cv2.blur(a * b, k) - ma * mb
    ncc = cov / np.sqrt(va * vb + 1e-6)
    smooth = vb < (TEXTURE_MIN * mb) ** 2
    return smooth | (ncc > TEXTURE_NCC)


def _grow(b: XYXY, frac: float) -> XYXY:
    dx, dy = (b[2] - b[0]) * frac, (b[3] - b[1]) * frac
    return b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy


def _area(b: XYXY) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _inter(a: XYXY, b: XYXY) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _inside_share(a: XYXY, b: XYXY) -> float:
    """Share of a's area inside b."""
    return _inter(a, b) / _area(a) if _area(a) > 0 else 0.0


def _iou(a: XYXY, b: XYXY) -> float:
    i = _inter(a, b)
    u = _area(a) + _area(b) - i
    return i / u if u > 0 else 0.0
