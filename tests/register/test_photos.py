"""Photos from citizens and inspectors: checked by content (size, type, real pixels), and re-encoded so that no
EXIF, GPS or other metadata ever reaches the disk."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from frontage.config import ReportLimits
from register import photos
from register.photos import MAX_PIXELS, MAX_SIDE, PhotoRefused, clean_photo, decode_scale, sniff, store_photo

LIMITS = ReportLimits(max_photo_bytes=300_000, min_photo_side=64)
GPS = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 1.0)}


def noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def encoded(img: np.ndarray, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def jpeg_with_exif(h: int = 100, w: int = 200, orientation: int = 1) -> bytes:
    """A phone's JPEG: camera make, GPS position and an orientation tag in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    exif[0x0112] = orientation
    exif[0x8825] = GPS
    out = io.BytesIO()
    Image.fromarray(noise(h, w)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def refused(data: bytes, limits: ReportLimits = LIMITS) -> PhotoRefused:
    with pytest.raises(PhotoRefused) as info:
        clean_photo(data, limits)
    return info.value


def test_exif_and_gps_are_gone_from_the_stored_photo(tmp_path):
    original = jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825) == GPS  # the input really carries GPS
    path = store_photo(tmp_path / "reports", "report", clean_photo(original, LIMITS))
    stored = path.read_bytes()
    assert stored[:3] == b"\xff\xd8\xff"
    assert b"Exif\x00\x00" not in stored and b"PhoneCam" not in stored  # no APP1 Exif segment at all
    with Image.open(path) as img:
        assert dict(img.getexif()) == {} and img.format == "JPEG"
    assert path.parent == tmp_path / "reports" and path.suffix == ".jpg" and not list(path.parent.glob("*.part"))


def test_the_exif_orientation_is_applied_before_it_is_dropped():
    rotated = clean_photo(jpeg_with_exif(100, 200, orientation=6), LIMITS)  # "rotate 90° to display"
    img = cv2.imdecode(np.frombuffer(rotated, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img.shape[:2] == (200, 100)


@pytest.mark.parametrize("ext", [".png", ".webp", ".jpg"])
def test_png_webp_and_jpeg_become_a_jpeg_of_the_same_picture(ext):
    img = cv2.GaussianBlur(noise(120, 160), (9, 9), 3)
    out = clean_photo(encoded(img, ext), LIMITS)
    back = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)
    assert out[:3] == b"\xff\xd8\xff" and back.shape == img.shape
    assert float(np.abs(back.astype(int) - img.astype(int)).mean()) < 8


def test_trailing_bytes_after_the_image_do_not_survive():
    hidden = b"<?php system($_GET['c']); ?>"
    out = clean_photo(encoded(noise(80, 80), ".jpg") + hidden, LIMITS)
    assert hidden not in out


def test_a_large_photo_is_scaled_down():
    out = clean_photo(encoded(cv2.blur(noise(200, 3000), (5, 5)), ".jpg"), ReportLimits(max_photo_bytes=5_000_000))
    assert cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (171, MAX_SIDE)


def test_too_many_bytes_is_413():
    err = refused(encoded(noise(400, 400)))  # random noise PNG: ~480 kB
    assert err.status == 413 and "300000" in err.reason


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"this is a text file, renamed to photo.jpg\n" * 4,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
    ],
    ids=["gif", "text", "svg", "wav"],
)
def test_not_jpeg_png_or_webp_by_content_is_415(data):
    assert refused(data).status == 415


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk)) + end


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50, "cannot be read"),
        (_png_header(8_000, 8_000), "too large"),  # a decompression bomb is refused from its header
        (_png_header(60_000, 60_000), "too large"),
        (encoded(noise(40, 300)), "too small"),
        (encoded(np.full((200, 200, 3), 128, np.uint8)), "blank"),
        (encoded(np.full((200, 200, 3), 255, np.uint8), ".jpg"), "blank"),
    ],
    ids=["empty", "broken-jpeg", "bomb", "huge-bomb", "small", "grey", "white"],
)
def test_not_a_real_picture_is_422(data, why):
    err = refused(data)
    assert err.status == 422 and why in err.reason


def test_a_claimed_30_megapixels_is_refused_from_the_header_without_decoding(monkeypatch):
    """A few kB of uniform PNG can claim 30 MP (90 MB decoded): refused before any decoding."""
    assert MAX_PIXELS <= 25_000_000

    def no_decoding(*args):
        raise AssertionError("decoded a photo the header already refuses")

    monkeypatch.setattr(photos.cv2, "imdecode", no_decoding)
    err = refused(_png_header(6_000, 5_000))
    assert err.status == 422 and "too large" in err.reason and "25,000,000" in err.reason


def test_a_large_photo_is_decoded_at_reduced_size(monkeypatch):
    """The long side at least twice what is stored: JPEG decodes at 1/2, 1/4 or 1/8 size (EXIF orientation kept)."""
    assert decode_scale(4_000, 3_000, LIMITS) == (1, cv2.IMREAD_COLOR)  # 4000 < 2 * 2560
    assert decode_scale(6_000, 4_000, LIMITS) == (2, cv2.IMREAD_REDUCED_COLOR_2)
    assert decode_scale(21_000, 1_000, LIMITS) == (8, cv2.IMREAD_REDUCED_COLOR_8)
    assert decode_scale(21_000, 200, LIMITS) == (2, cv2.IMREAD_REDUCED_COLOR_2)  # the short side keeps 64 px
    flags = []
    real = cv2.imdecode

    def spy(buf, flag):
        flags.append(flag)
        return real(buf, flag)

    monkeypatch.setattr(photos, "MAX_SIDE", 100)  # a small stand-in for 2560, so the test photo stays small
    monkeypatch.setattr(photos.cv2, "imdecode", spy)
    out = clean_photo(jpeg_with_exif(320, 480, orientation=6), ReportLimits(max_photo_bytes=2_000_000))
    assert flags == [cv2.IMREAD_REDUCED_COLOR_4]  # 480 >= 4 * 100 and 320 >= 4 * 64
    monkeypatch.setattr(photos.cv2, "imdecode", real)
    assert real(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (100, 67)  # rotated, then scaled


def test_sniff_reads_magic_bytes_only():
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff(b"XXXX\x00\x00\x00\x00WEBPVP8 ") is None
    assert sniff(b"") is None
