"""Colour signatures: how much of an object's box is painted in one colour (a Meituan-yellow bike frame, an
Ele.me-blue top box).

Pure functions over a BGR crop. Hue and saturation, not RGB: a shadow or dusk darkens paint by about the same
factor in every channel, which leaves its hue and saturation alone, so only the brightness floor (`min_value`)
has to admit shaded paint. Grey paving, asphalt and steel have no saturation to speak of and never count,
whatever their hue reads. A light 3x3 blur first takes out the chroma noise of H.264/JPEG on thin frames.

`solid` tells a block of colour from strokes of it: the mask is opened (eroded, then dilated) with a disc of that
share of the region's width, which erases a painted frame's tubes and rims and keeps a top box or a panel. A
Meituan delivery e-bike's yellow top box and a Meituan shared bike's yellow frame differ in exactly that.
"""

from __future__ import annotations

import cv2
import numpy as np

XYXY = tuple[float, float, float, float]
MIN_PIXELS = 48  # fewer pixels than this in the measured region: no evidence either way (None)


def region_box(box: XYXY, region: str) -> XYXY:
    """The part of a box a signature measures: whole, upper half or lower half."""
    x0, y0, x1, y1 = box
    mid = (y0 + y1) / 2
    if region == "upper":
        return x0, y0, x1, mid
    if region == "lower":
        return x0, mid, x1, y1
    if region == "whole":
        return box
    raise ValueError(f"unknown region {region!r} (whole, upper or lower)")


def crop(image: np.ndarray, box: XYXY) -> np.ndarray:
    """The box's pixels, clipped to the image (possibly empty)."""
    h, w = image.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return image[y0 : max(y0, y1), x0 : max(x0, x1)]


def colour_mask(pixels: np.ndarray, hue: tuple[float, float], min_saturation: float, min_value: float) -> np.ndarray:
    """Boolean mask of the BGR pixels whose hue (degrees) lies in [lo, hi] (wrapping through red when lo > hi),
    with saturation and value (0-1) at least the given floors."""
    if pixels.size == 0:
        return np.zeros(pixels.shape[:2], bool)
    smooth = cv2.blur(pixels, (3, 3)) if min(pixels.shape[:2]) >= 3 else pixels
    hsv = cv2.cvtColor(np.ascontiguousarray(smooth, np.uint8), cv2.COLOR_BGR2HSV_FULL)
    h = hsv[..., 0].astype(np.float32) * (360.0 / 256.0)
    lo, hi = hue
    in_hue = (h >= lo) & (h <= hi) if lo <= hi else (h >= lo) | (h <= hi)
    return in_hue & (hsv[..., 1] >= round(min_saturation * 255)) & (hsv[..., 2] >= round(min_value * 255))


def solid_part(mask: np.ndarray, solid: float) -> np.ndarray:
    """The mask without strokes thinner than `solid` x its width (0: unchanged)."""
    k = round(solid * mask.shape[1])
    if solid <= 0 or k < 2:
        return mask
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disc).astype(bool)


def colour_share(pixels: np.ndarray, hue: tuple[float, float], min_saturation: float = 0.45,
                 min_value: float = 0.2, min_pixels: int = MIN_PIXELS, solid: float = 0.0) -> float | None:  # fmt: skip
    """Share (0-1) of the pixels in the colour (only its solid blocks with `solid` > 0); None when there are too
    few pixels to tell (a box far off)."""
    n = pixels.shape[0] * pixels.shape[1] if pixels.ndim >= 2 else 0
    if n < min_pixels:
        return None
    return float(solid_part(colour_mask(pixels, hue, min_saturation, min_value), solid).mean())


def box_share(image: np.ndarray, box: XYXY, hue: tuple[float, float], min_saturation: float = 0.45,
              min_value: float = 0.2, region: str = "whole", solid: float = 0.0) -> float | None:  # fmt: skip
    """`colour_share` of one region of an object's box in a frame."""
    return colour_share(crop(image, region_box(box, region)), hue, min_saturation, min_value, solid=solid)
