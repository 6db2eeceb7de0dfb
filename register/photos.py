"""Photos from people outside the office (citizens, inspectors): checked by content, then re-encoded.

A photo is checked by its bytes (never by what the client claims), decoded into pixels and written out again
as a fresh JPEG. Only the pixels survive: EXIF, GPS, comments and anything hidden after the image data are
gone, and a file that merely looks like an image never reaches the disk.

Decoding is the costly part, so the header's claimed size is checked first: at most MAX_PIXELS (a uniform PNG of
a few kB can claim 25 MP and decodes to 75 MB of BGR), and an image whose long side is at least twice MAX_SIDE is
decoded at 1/2, 1/4 or 1/8 of its size (JPEG decodes that way natively), since it is stored at MAX_SIDE anyway.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from frontage.config import ReportLimits

MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"WEBP", 8, "webp"),  # after b"RIFF" and the four size bytes
)
MAX_PIXELS = 25_000_000  # a few kB of PNG can claim gigapixels; refuse before decoding (25 MP: 75 MB decoded)
MAX_SIDE = 2560  # stored photos are scaled down to this: evidence, not prints
MIN_CONTRAST = 4.0  # grey-level standard deviation below this is a blank or uniform picture
JPEG_QUALITY = 88
REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


class PhotoRefused(ValueError):
    """A photo that is not accepted; `status` is the HTTP status to answer (413, 415, 422)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def sniff(head: bytes) -> str | None:
    """The image type from its magic bytes (jpeg, png, webp), or None."""
    for magic, at, kind in MAGIC:
        if head[at : at + len(magic)] == magic and (kind != "webp" or head[:4] == b"RIFF"):
            return kind
    return None


def _claimed_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header alone (no decoding), or None when the header cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Image.DecompressionBombError:
        return (MAX_PIXELS + 1, 1)
    except Exception:  # PIL raises many kinds for broken headers; any of them means "not an image"
        return None


def decode_scale(w: int, h: int, limits: ReportLimits) -> tuple[int, int]:
    """How much to shrink while decoding a w x h image, and the imdecode flag: the largest of 8, 4, 2 that leaves
    the long side at least MAX_SIDE (what is stored) and the short side at least the minimum; else 1."""
    for factor, flag in REDUCED:
        if max(w, h) >= MAX_SIDE * factor and min(w, h) >= limits.min_photo_side * factor:
            return factor, flag
    return 1, cv2.IMREAD_COLOR


def decode(data: bytes, limits: ReportLimits) -> np.ndarray:
    """The photo's pixels (BGR, EXIF orientation applied), or PhotoRefused."""
    if len(data) > limits.max_photo_bytes:
        raise PhotoRefused(413, f"photo over {limits.max_photo_bytes} bytes")
    if not data:
        raise PhotoRefused(422, "the photo is empty")
    if sniff(data[:16]) is None:
        raise PhotoRefused(415, "photo must be a JPEG, PNG or WebP image (checked by its content)")
    size = _claimed_size(data)
    if size is None:
        raise PhotoRefused(422, "the photo cannot be read as an image")
    w, h = size
    if w * h > MAX_PIXELS:
        raise PhotoRefused(422, f"the photo is too large (at most {MAX_PIXELS:,} pixels)")
    if min(h, w) < limits.min_photo_side:
        raise PhotoRefused(422, f"photo of {w}x{h} pixels is too small (at least {limits.min_photo_side} px a side)")
    factor, flag = decode_scale(w, h, limits)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)  # IMREAD_COLOR and REDUCED_* honour EXIF orientation
    if img is None or img.ndim != 3 or img.size == 0:
        raise PhotoRefused(422, "the photo cannot be read as an image")
    h, w = img.shape[:2]
    if min(h, w) * factor < limits.min_photo_side:
        raise PhotoRefused(422, f"photo of {w}x{h} pixels is too small (at least {limits.min_photo_side} px a side)")
    step = max(1, max(h, w) // 512)  # sampled pixels keep the spread that averaging would smooth away
    if float(cv2.cvtColor(img[::step, ::step], cv2.COLOR_BGR2GRAY).std()) < MIN_CONTRAST:
        raise PhotoRefused(422, "the photo is blank (one uniform colour)")
    return img


def encode_jpeg(img: np.ndarray) -> bytes:
    """A fresh baseline JPEG of the pixels, scaled down to MAX_SIDE: no metadata of any kind."""
    h, w = img.shape[:2]
    if max(h, w) > MAX_SIDE:
        scale = MAX_SIDE / max(h, w)
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit BGR image
        raise PhotoRefused(422, "the photo could not be re-encoded")
    return buf.tobytes()


def clean_photo(data: bytes, limits: ReportLimits) -> bytes:
    """Check a photo (413 too big, 415 not JPEG/PNG/WebP, 422 not a real picture) and return it re-encoded as
    a JPEG without EXIF, GPS or any other metadata. Raises PhotoRefused."""
    return encode_jpeg(decode(data, limits))


def store_photo(folder: Path, stem: str, data: bytes, ext: str = "jpg") -> Path:
    """Write under a fresh name we choose, atomically: nobody sees half a photo, no client-chosen name is used."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{uuid.uuid4().hex[:12]}.{ext}"
    tmp = path.with_suffix(".part")
    with open(tmp, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path
