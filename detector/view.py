"""View guard: notice when a camera's view is no longer the one its frontage polygons were drawn on.

Street cameras get bumped, re-aimed or zoomed, covered or go out of focus. The polygons are drawn on one
reference frame; a view that moved a little must carry them along (re-registration), one that moved a lot
(re-aimed) or one that shows nothing useful (black, covered, blurred) must raise an alert, because every case
it opens or clears from then on would be wrong.

Registration: ORB features on a grey copy about 640 px wide, Hamming matches with Lowe's ratio test, a RANSAC
homography. ORB keypoints are only good to a pixel or so and cluster where the texture is, so that homography
can be off by 10+ px at the frame corners; it is refined by tracking well-spread reference corners (computed
once, like the reference's features) into the current frame with sub-pixel optical flow from the reference
warped by the first estimate, then refitting. The result is scaled back to full resolution and is good to a few
tenths of a pixel. A check costs about 10 ms on a 1280x720 frame with one thread (a tampered view under 1 ms);
it runs every few seconds per camera, not every frame.

Alerts need time: a bus filling the frame for a moment, a glare or a one-frame glitch look like a moved or
covered camera, so "moved" and "tampered" are confirmed only after holding on every check for `confirm_s`.
A small move is applied as soon as two consecutive checks agree, so the polygons follow quickly. A confirmed
"moved" stays until an operator rebases the view (the polygons may now be on the wrong shops); "tampered" clears
by itself once the view has been fine for `confirm_s`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from frontage.config import ViewGuardConfig

ANALYSIS_WIDTH = 640  # registration and tamper checks run on a grey copy this wide
N_FEATURES = 500  # matching cost grows with the square of this; 500 keeps a check under 10 ms
ORB_LEVELS = 4  # a 1.2 pyramid over 4 levels spans 1.7x, far beyond the largest zoom that is followed
RATIO = 0.8  # Lowe's ratio test: a match must be clearly better than the second best
RANSAC_PX = 3.0  # reprojection threshold at the analysis scale (ORB keypoints are only good to ~1 px)
TRACK_POINTS = 120  # reference corners refined to sub-pixel by optical flow, spread over the whole frame
TRACK_MIN_DIST = 16  # analysis pixels between two of them
REFINE_PX = 1.0  # reprojection threshold of the refined fit, analysis pixels
MIN_REFINED = 12  # fewer refined points than this: keep the ORB homography
LK = {
    "winSize": (15, 15),
    "maxLevel": 2,
    "criteria": (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.03),
    "flags": cv2.OPTFLOW_USE_INITIAL_FLOW,
}
AGREE_PX = 2.0  # two homographies agree when they place every anchor within this (full-res pixels)
SHIFT_CAP = 1e6  # shift_px of an anchor sent behind the image plane (reports go to JSON, which has no inf)

Homography = tuple[tuple[float, float, float], ...]
Point = tuple[float, float]

OK, SHIFTED, MOVED, TAMPERED = "ok", "shifted", "moved", "tampered"
GOOD = (OK, SHIFTED)


@dataclass(frozen=True)
class ViewReport:
    state: str  # "ok" | "shifted" | "moved" | "tampered"
    homography: Homography | None  # 3x3, reference pixels -> current frame pixels (full res); ok and shifted only
    inliers: int  # RANSAC inliers (0 when not computed)
    shift_px: float  # largest displacement of the anchor points under the homography, full-res pixels
    reason: str  # for humans


IDENTITY: Homography = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
AS_DRAWN = ViewReport(OK, IDENTITY, 0, 0.0, "reference view")


def as_tuple(h: np.ndarray) -> Homography:
    """Normalised (h[2][2] = 1) plain-float 3x3, hashable and JSON-friendly."""
    h = np.asarray(h, dtype=np.float64)
    if abs(h[2, 2]) > 1e-12:
        h = h / h[2, 2]
    return tuple(tuple(float(v) for v in row) for row in h)  # type: ignore[return-value]


def warp_points(h: Homography | np.ndarray, pts: Sequence[Point] | np.ndarray) -> list[Point]:
    """Map points through homography `h` (points behind the camera plane come back as inf)."""
    a = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    if not len(a):
        return []
    hm = np.asarray(h, dtype=np.float64)
    p = np.hstack([a, np.ones((len(a), 1))]) @ hm.T
    w = p[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(w > 1e-12, p[:, :2] / np.where(w > 1e-12, w, 1.0), np.inf)
    return [(float(x), float(y)) for x, y in out]


def warp_box(h: Homography | np.ndarray, b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The box around a box's four corners mapped through `h`."""
    pts = warp_points(h, [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])])
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def max_displacement(h: Homography | np.ndarray, pts: Sequence[Point] | np.ndarray) -> float:
    """Largest distance any point moves under `h` (inf when one leaves the image plane)."""
    if not len(pts):
        return 0.0
    a = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    return float(np.max(np.hypot(*(np.asarray(warp_points(h, a)) - a).T)))


def disagreement(h1: Homography | np.ndarray, h2: Homography | np.ndarray, pts: Sequence[Point] | np.ndarray) -> float:
    """Largest distance between where `h1` and `h2` put the same points."""
    if not len(pts):
        return 0.0
    a, b = np.asarray(warp_points(h1, pts)), np.asarray(warp_points(h2, pts))
    d = np.hypot(*(a - b).T)
    return float(np.max(np.where(np.isfinite(d), d, np.inf)))


def decompose(h: Homography | np.ndarray, size: tuple[int, int]) -> tuple[float, float, float]:
    """(zoom, rotation in degrees, shift of the frame centre in pixels) of `h` near the centre of a frame of
    `size` = (width, height): the local linear part (the Jacobian) is what a viewer sees as zoom and rotation,
    even when the homography has some perspective. Rotation is positive clockwise on screen (y points down). A
    mirrored or degenerate map gives zoom 0."""
    hm = np.asarray(h, dtype=np.float64)
    cx, cy = size[0] / 2.0, size[1] / 2.0
    x, y, w = hm @ (cx, cy, 1.0)
    if w <= 1e-12:
        return 0.0, 0.0, math.inf
    u, v = x / w, y / w
    # d(u, v)/d(cx, cy) for u = x/w, v = y/w
    jac = np.array(
        [
            [(hm[0, 0] - u * hm[2, 0]) / w, (hm[0, 1] - u * hm[2, 1]) / w],
            [(hm[1, 0] - v * hm[2, 0]) / w, (hm[1, 1] - v * hm[2, 1]) / w],
        ]
    )
    det = float(np.linalg.det(jac))
    zoom = math.sqrt(det) if det > 0 else 0.0
    rotation = math.degrees(math.atan2(jac[1, 0] - jac[0, 1], jac[0, 0] + jac[1, 1]))
    return zoom, rotation, math.hypot(u - cx, v - cy)


def frame_corners(size: tuple[int, int]) -> list[Point]:
    w, h = size
    return [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]


def analysis_grey(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Grey copy at most ANALYSIS_WIDTH wide and its scale (analysis pixels per full-res pixel)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    width = grey.shape[1]
    if width <= ANALYSIS_WIDTH:
        return grey, 1.0
    scale = ANALYSIS_WIDTH / width
    small = cv2.resize(grey, (ANALYSIS_WIDTH, max(1, round(grey.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return small, scale


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian: edges make it large, defocus and a covered lens make it small."""
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def tamper_reason(grey: np.ndarray, ref_sharpness: float, cfg: ViewGuardConfig) -> str | None:
    """Why this grey view shows nothing useful (black, covered, out of focus), or None when it looks fine.
    Cheap, so it runs before registration: a covered lens has no features to match anyway."""
    mean, std = cv2.meanStdDev(grey)
    mean, std = float(mean[0, 0]), float(std[0, 0])
    if mean < cfg.dark_level:
        return f"black view (mean {mean:.0f})"
    if std < cfg.uniform_std:
        return f"lens covered: uniform view (spread {std:.1f})"
    if ref_sharpness > 0:
        sharp = sharpness(grey)
        if sharp < cfg.blur_ratio * ref_sharpness:
            return f"out of focus (sharpness {100 * sharp / ref_sharpness:.0f}% of the reference)"
    return None


def orb_homography(
    ref_kp: Sequence[cv2.KeyPoint], ref_desc: np.ndarray | None, kp: Sequence[cv2.KeyPoint], desc: np.ndarray | None
) -> tuple[np.ndarray | None, int]:
    """Reference -> current homography from ORB matches (ratio test, RANSAC) and its inlier count: the number
    of features that agree the two views show the same scene."""
    if ref_desc is None or desc is None or len(ref_kp) < 4 or len(kp) < 4:
        return None, 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(ref_desc, desc, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 4:
        return None, len(good)
    src = np.float32([ref_kp[m.queryIdx].pt for m in good])
    dst = np.float32([kp[m.trainIdx].pt for m in good])
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
    if h is None or mask is None:
        return None, 0
    return h, int(mask.sum())


def track_points(grey: np.ndarray) -> np.ndarray:
    """Well-textured reference corners spread over the whole frame (ORB leaves the borders empty), Nx2."""
    pts = cv2.goodFeaturesToTrack(grey, TRACK_POINTS, 0.01, TRACK_MIN_DIST, blockSize=7)
    return np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2).astype(np.float32)


def refine(ref_grey: np.ndarray, grey: np.ndarray, points: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """Sub-pixel refinement of `h0` (reference -> current, analysis scale): the reference, warped by `h0` and
    matched to the current brightness, is tracked into the current frame at `points` by pyramidal optical
    flow; a homography refitted to those tracks replaces `h0` when enough of them agree."""
    size = (grey.shape[1], grey.shape[0])
    guess = cv2.perspectiveTransform(points.reshape(-1, 1, 2), h0)
    inside = (guess[:, 0, 0] >= 0) & (guess[:, 0, 0] < size[0]) & (guess[:, 0, 1] >= 0) & (guess[:, 0, 1] < size[1])
    if inside.sum() < MIN_REFINED:
        return h0
    warped = cv2.warpPerspective(ref_grey, h0, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    (m_ref,), (s_ref,) = (v.ravel() for v in cv2.meanStdDev(warped))
    (m_cur,), (s_cur,) = (v.ravel() for v in cv2.meanStdDev(grey))
    gain = float(s_cur / s_ref) if s_ref > 1e-6 else 1.0  # optical flow assumes equal brightness: a dimmer view
    warped = cv2.convertScaleAbs(warped, alpha=gain, beta=float(m_cur - gain * m_ref))  # must not bias it
    start = guess[inside]
    tracked, status, _ = cv2.calcOpticalFlowPyrLK(warped, grey, start, start.copy(), **LK)
    ok = status.ravel() == 1
    if ok.sum() < MIN_REFINED:
        return h0
    h, mask = cv2.findHomography(points[inside][ok], tracked.reshape(-1, 2)[ok], cv2.RANSAC, REFINE_PX)
    if h is None or mask is None or int(mask.sum()) < MIN_REFINED:
        return h0
    return h


def scaled_homography(h_small: np.ndarray, ref_scale: float, cur_scale: float) -> np.ndarray:
    """A homography found between analysis copies, as one between the full-res frames."""
    s_ref = np.diag([ref_scale, ref_scale, 1.0])
    s_cur_inv = np.diag([1.0 / cur_scale, 1.0 / cur_scale, 1.0])
    return s_cur_inv @ h_small @ s_ref


def classify(
    h: np.ndarray, anchors: Sequence[Point], size: tuple[int, int], cfg: ViewGuardConfig
) -> tuple[str, float, str]:
    """(state, shift_px, reason) of a homography with enough inliers: ok, shifted (small enough to follow)
    or moved."""
    shift = max_displacement(h, anchors)
    zoom, rotation, _ = decompose(h, size)
    if shift < cfg.reregister_px:
        return OK, shift, f"view unchanged ({shift:.1f} px)"
    what = f"{shift:.0f} px, zoom {zoom:.2f}, rotation {rotation:.1f}°" if math.isfinite(shift) else "out of view"
    small = (
        shift <= cfg.max_shift_frac * size[0]
        and abs(zoom - 1.0) <= cfg.max_zoom
        and abs(rotation) <= cfg.max_rotation_deg
        and all(math.isfinite(x) for pt in warp_points(h, frame_corners(size)) for x in pt)
    )
    if small:
        return SHIFTED, shift, f"view shifted {what}"
    return MOVED, min(shift, SHIFT_CAP), f"camera moved: {what} (too large to follow)"


class ViewGuard:
    """One camera's view, checked every `cfg.check_every_s` against its reference frame."""

    def __init__(self, cfg: ViewGuardConfig, reference: np.ndarray, anchors: Sequence[Point] = ()) -> None:
        self.cfg = cfg
        self._anchors_given = [(float(x), float(y)) for x, y in anchors]
        self._orb = cv2.ORB_create(nfeatures=N_FEATURES, nlevels=ORB_LEVELS)
        self._last_check: float | None = None
        self._requested = False
        self.rebase(reference)

    # --- public -------------------------------------------------------------------------------------------------

    @property
    def report(self) -> ViewReport:
        """The last confirmed report."""
        return self._report

    def request(self) -> None:
        """The next check() checks whatever the time (the caller saw a sudden global change)."""
        self._requested = True

    def rebase(self, image: np.ndarray) -> None:
        """An operator confirmed the current view: it becomes the reference, state ok."""
        grey, self._ref_scale = analysis_grey(image)
        self._size = (int(image.shape[1]), int(image.shape[0]))
        self._anchors = self._anchors_given or frame_corners(self._size)
        self._ref_grey = grey
        self._ref_kp, self._ref_desc = self._orb.detectAndCompute(grey, None)
        self._ref_points = track_points(grey)
        self._ref_sharpness = sharpness(grey)
        self._report = AS_DRAWN
        self._last_obs: ViewReport | None = None  # the previous check's raw observation
        self._bad_since: float | None = None  # first check of the current run of moved/tampered observations
        self._moved_since: float | None = None  # first check of the current run of moved observations
        self._good_since: float | None = None  # first check of the current run of ok/shifted observations

    def check(self, image: np.ndarray, t: float) -> ViewReport | None:
        """The confirmed report after checking `image` seen at `t`, or None when no check is due."""
        if not self._due(t):
            return None
        self._last_check, self._requested = t, False
        obs = self.observe(image)
        self._report = self._confirm(obs, t)
        self._last_obs = obs
        return self._report

    def observe(self, image: np.ndarray) -> ViewReport:
        """This frame's raw, unconfirmed view state (no timing, no memory)."""
        grey, scale = analysis_grey(image)
        why = tamper_reason(grey, self._ref_sharpness, self.cfg)
        if why:
            return ViewReport(TAMPERED, None, 0, 0.0, why)
        h_small, inliers = self._register(grey)
        if h_small is None or inliers < self.cfg.min_inliers:
            return ViewReport(
                MOVED, None, inliers, 0.0, f"camera re-aimed: {inliers} features agree ({self.cfg.min_inliers} needed)"
            )
        h = scaled_homography(h_small, self._ref_scale, scale)
        state, shift, why = classify(h, self._anchors, self._size, self.cfg)
        return ViewReport(
            state, as_tuple(h) if state in GOOD else None, inliers, shift, f"{why}, {inliers} features agree"
        )

    # --- internals ----------------------------------------------------------------------------------------------

    def _due(self, t: float) -> bool:
        """A check is due every check_every_s, on request, and when the clock went back (a replay restarted)."""
        last = self._last_check
        return self._requested or last is None or t - last >= self.cfg.check_every_s or t < last

    def _register(self, grey: np.ndarray) -> tuple[np.ndarray | None, int]:
        """Reference -> current homography at the analysis scale, and the ORB inlier count."""
        kp, desc = self._orb.detectAndCompute(grey, None)
        h0, inliers = orb_homography(self._ref_kp, self._ref_desc, kp, desc)
        if h0 is None or inliers < self.cfg.min_inliers:
            return h0, inliers
        return refine(self._ref_grey, grey, self._ref_points, h0), inliers

    def _confirm(self, obs: ViewReport, t: float) -> ViewReport:
        """Fold one observation into the confirmed state (the timing rules of the module docstring)."""
        current = self._report
        if obs.state in GOOD:
            self._bad_since = self._moved_since = None
            if self._good_since is None:
                self._good_since = t
            if current.state == MOVED:  # only an operator (rebase) clears a re-aimed camera
                return current
            if current.state == TAMPERED:
                return obs if t - self._good_since >= self.cfg.confirm_s else current
            if self._agrees(obs, current) or self._agrees(obs, self._last_obs):
                return obs
            return current
        self._good_since = None
        if self._bad_since is None:
            self._bad_since = t
        if obs.state == MOVED:
            if self._moved_since is None:
                self._moved_since = t
        else:
            self._moved_since = None
        if current.state == MOVED:
            return current
        if obs.state == MOVED and t - self._moved_since >= self.cfg.confirm_s:
            return obs
        if obs.state == TAMPERED and t - self._bad_since >= self.cfg.confirm_s:
            return obs
        return current

    def _agrees(self, obs: ViewReport, other: ViewReport | None) -> bool:
        """Both place every anchor within AGREE_PX of each other."""
        if other is None or other.homography is None or obs.homography is None:
            return False
        return disagreement(obs.homography, other.homography, self._anchors) <= AGREE_PX
