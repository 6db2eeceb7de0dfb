"""Real object cut-outs for rendered scenarios, taken from the shared street stills and ultralytics' assets.

The pixels stay where they are (shared/media, the installed ultralytics package); this module only names crop
boxes in them. Each sprite also records the object's own box inside the crop, as the COCO YOLOv8n model drew it,
so ground truth uses the object's real footprint rather than the crop rectangle.

How the boxes were found: yolov8n-coco-int8-640.onnx (imgsz 640, conf 0.15) was run once on every still and on
bus.jpg; vehicles and persons are its boxes there, padded a little for the crop. The stills' parasols, tables
and chairs are not detected as goods by this model at any scale we tried (pasted they read as truck or bus),
so the goods sprite is the geranium planter of the café terrace, which the model calls `potted plant` once it
stands on the street: the crop and its object box come from a search of crops, scales and positions pasted
into the trucks still.

Goods the model does not name (`GOODS`, class `static_object`): what a shop sets out that no COCO class covers,
for the static-object detector of the out_of_store_trading rule. They must not read as a person or a vehicle
where the scenarios set them out (that would open, or hide, the wrong case); tests/test_scenarios_goods_render.py
checks that with the real model on every scenario's own frames.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from frontage.config import STATIC_OBJECT

XYXY = tuple[float, float, float, float]
MEDIA_ENV = "FRONTAGE_MEDIA"
ULTRALYTICS_PREFIX = "ultralytics:"

TRUCKS_STILL = "muenster-webcam/trucks-stopped-by-arcade-shops.jpg"
PEDESTRIANS_STILL = "muenster-webcam/pedestrians-bikes-shopfronts.jpg"
NIGHT_SHOPFRONT_STILL = "muenster-webcam/night-shopfront-parked-bikes.jpg"
CITYHALL_STILL = "muenster-webcam/cityhall-square.jpg"
CHURCH_STILL = "muenster-webcam/church-square.jpg"
NIGHT_ARCADE_STILL = "muenster-webcam/night-arcade-cyclist.jpg"
BUS_PHOTO = ULTRALYTICS_PREFIX + "bus.jpg"


@dataclass(frozen=True)
class Sprite:
    """A real object cut out of a real picture.

    `source` is a key: a path relative to the media folder, or `ultralytics:<file>` for the package's assets.
    `crop` is xyxy in the source image; `object_box` is the object's box in crop coordinates (before scaling).
    `mask` is `rect` (soft-edged rectangle) or `grabcut` (the object's silhouette, for occluders whose
    rectangle would carry the source's background, e.g. the bus behind the passers-by in bus.jpg).
    `tint` (hue in degrees, least saturation 0-1) repaints the object in another colour, keeping its texture
    (`recolour`): a shared-bike operator's livery on a real bike. With `tint_whole` every pixel of the object box
    is repainted (a top box), else only the object's own thin structure (frame, rims), not the street seen
    through it.
    """

    name: str
    source: str
    crop: tuple[int, int, int, int]
    coco_class: str
    object_box: XYXY
    mask: str = "rect"
    flip: bool = False
    tint: tuple[float, float] | None = None
    tint_whole: bool = False

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.crop
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"sprite {self.name}: empty crop {self.crop}")
        if self.mask not in ("rect", "grabcut"):
            raise ValueError(f"sprite {self.name}: mask must be rect or grabcut, got {self.mask!r}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the crop before scaling."""
        x0, y0, x1, y1 = self.crop
        return x1 - x0, y1 - y0


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent
    seen: list[Path] = []
    for base in (Path.cwd().resolve(), here):
        for parent in (base, *base.parents):
            for cand in (parent / "shared" / "media", parent.parent / "shared" / "media"):
                if cand not in seen:
                    seen.append(cand)
    return seen


def media_dir() -> Path:
    """The shared stills folder: $FRONTAGE_MEDIA, else `shared/media` found walking up from here or the cwd."""
    env = os.environ.get(MEDIA_ENV)
    if env:
        if Path(env).is_dir():
            return Path(env)
        raise FileNotFoundError(f"{MEDIA_ENV}={env} is not a folder; point it at shared/media (the stills)")
    for cand in _candidates():
        if (cand / "muenster-webcam").is_dir():
            return cand
    raise FileNotFoundError(
        "street stills not found: no shared/media/muenster-webcam beside or above the checkout "
        f"(looked from {Path.cwd()} and {Path(__file__).parent}); put the shared/ folder next to the "
        f"repository or set {MEDIA_ENV} to the media folder"
    )


def resolve_source(key: str) -> Path:
    """Path of a source key (media-relative path or `ultralytics:<asset>`); raises if the file is missing."""
    if key.startswith(ULTRALYTICS_PREFIX):
        import ultralytics

        path = Path(ultralytics.__file__).parent / "assets" / key.removeprefix(ULTRALYTICS_PREFIX)
    else:
        path = media_dir() / key
    if not path.is_file():
        raise FileNotFoundError(f"sprite source {key!r} not found at {path}")
    return path


@lru_cache(maxsize=16)
def load_image(key: str) -> np.ndarray:
    """A source image as BGR uint8 (cached: scenarios paste the same crops every frame)."""
    img = cv2.imread(str(resolve_source(key)), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot decode image {key!r}")
    img.flags.writeable = False
    return img


def _resize(img: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


def _crop(sprite: Sprite) -> np.ndarray:
    x0, y0, x1, y1 = sprite.crop
    img = load_image(sprite.source)
    if x1 > img.shape[1] or y1 > img.shape[0] or x0 < 0 or y0 < 0:
        raise ValueError(f"sprite {sprite.name}: crop {sprite.crop} outside its {img.shape[1]}x{img.shape[0]} source")
    out = img[y0:y1, x0:x1]
    return np.ascontiguousarray(out[:, ::-1] if sprite.flip else out)


STRUCTURE_DIFF = 28  # how far (0-255) a pixel stands out from its 9x9 median to be the object's own structure
HIGHLIGHT = 235  # brighter pixels are lamps and glints, not paint: never repainted


def recolour(pixels: np.ndarray, box: tuple[int, int, int, int], hue: float, saturation: float,
             whole: bool = False) -> np.ndarray:  # fmt: skip
    """A copy of the BGR pixels with the object inside `box` (xyxy) repainted in `hue` (degrees): its hue set,
    its saturation raised to at least `saturation`, its brightness lifted a little (paint is brighter than a
    bike's dark steel) but its shading kept. Only the object's thin structure is repainted (pixels that stand out
    from their neighbourhood), unless `whole`."""
    x0, y0, x1, y1 = box
    out = pixels.copy()
    part = np.ascontiguousarray(pixels[y0:y1, x0:x1])
    if whole:
        mask = np.ones(part.shape[:2], np.float32)
    else:
        diff = np.abs(part.astype(np.int16) - cv2.medianBlur(part, 9).astype(np.int16)).max(axis=2)
        gray = cv2.cvtColor(part, cv2.COLOR_BGR2GRAY)
        mask = ((diff > STRUCTURE_DIFF) & (gray < HIGHLIGHT)).astype(np.float32)
    mask = cv2.GaussianBlur(mask, (3, 3), 0)[..., None]
    hsv = cv2.cvtColor(part, cv2.COLOR_BGR2HSV_FULL).astype(np.float32)
    hsv[..., 0] = (hue % 360) * 256 / 360
    hsv[..., 1] = np.maximum(hsv[..., 1], saturation * 255)
    hsv[..., 2] = 60 + hsv[..., 2] * (195 / 255)
    paint = cv2.cvtColor(np.clip(np.rint(hsv), 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR_FULL).astype(np.float32)
    out[y0:y1, x0:x1] = np.rint(part * (1 - mask) + paint * mask).astype(np.uint8)
    return out


def _painted(sprite: Sprite) -> np.ndarray:
    crop = _crop(sprite)
    if sprite.tint is None:
        return crop
    box = tuple(round(v) for v in flipped_box(sprite))
    return recolour(crop, box, sprite.tint[0], sprite.tint[1], sprite.tint_whole)  # type: ignore[arg-type]


@lru_cache(maxsize=256)
def load_sprite(sprite: Sprite, scale: float = 1.0) -> np.ndarray:
    """The sprite's pixels (BGR uint8), scaled and repainted if tinted; cached and read-only."""
    out = _resize(_painted(sprite), scale)
    out.flags.writeable = False
    return out


def _rect_alpha(h: int, w: int) -> np.ndarray:
    """1 inside, ramping to 0 over a few pixels at the border, so the paste has no hard seam."""
    feather = max(2, round(0.08 * min(h, w)))
    ramp_x = np.clip((np.minimum(np.arange(w), np.arange(w)[::-1]) + 0.5) / feather, 0, 1)
    ramp_y = np.clip((np.minimum(np.arange(h), np.arange(h)[::-1]) + 0.5) / feather, 0, 1)
    return np.outer(ramp_y, ramp_x).astype(np.float32)


@lru_cache(maxsize=16)
def _grabcut_mask(sprite: Sprite) -> np.ndarray:
    """Silhouette of the object inside its box (float 0..1 at crop size); seeded, so every run agrees."""
    crop = _crop(sprite)
    x0, y0, x1, y1 = (round(v) for v in flipped_box(sprite))
    mask = np.zeros(crop.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(12345)
    cv2.grabCut(crop, mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    return cv2.GaussianBlur(fg, (5, 5), 0)


@lru_cache(maxsize=256)
def sprite_alpha(sprite: Sprite, scale: float = 1.0) -> np.ndarray:
    """Opacity (float32 0..1) matching `load_sprite(sprite, scale)` pixel for pixel."""
    h, w = load_sprite(sprite, scale).shape[:2]
    if sprite.mask == "grabcut":
        alpha = cv2.resize(_grabcut_mask(sprite), (w, h), interpolation=cv2.INTER_LINEAR)
        alpha = np.clip(alpha, 0, 1) * _rect_alpha(h, w)
    else:
        alpha = _rect_alpha(h, w)
    alpha.flags.writeable = False
    return alpha


def flipped_box(sprite: Sprite) -> XYXY:
    """The object box in crop coordinates, mirrored when the sprite is flipped."""
    x0, y0, x1, y1 = sprite.object_box
    if not sprite.flip:
        return x0, y0, x1, y1
    w = sprite.size[0]
    return w - x1, y0, w - x0, y1


def scaled_object_box(sprite: Sprite, scale: float = 1.0) -> XYXY:
    """The object box in the scaled sprite's pixel coordinates (same rounding as load_sprite's size)."""
    w, h = sprite.size
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    x0, y0, x1, y1 = flipped_box(sprite)
    return x0 * sw / w, y0 * sh / h, x1 * sw / w, y1 * sh / h


# The trucks still's white Iveco box van: detected there as bus 0.73 at (453, 320, 708, 580).
VAN_WHITE = Sprite("van_white", TRUCKS_STILL, (450, 316, 712, 586), "truck", (3, 4, 258, 264))
# The same van mirrored: a second vehicle that faces the other way (the model is trained with flips).
VAN_WHITE_MIRRORED = Sprite(
    "van_white_mirrored", TRUCKS_STILL, (450, 316, 712, 586), "truck", (3, 4, 258, 264), flip=True
)
# The green Böll lorry behind it: detected as bus 0.49 at (702, 197, 873, 377); as truck or bus when pasted.
TRUCK_GREEN = Sprite("truck_green", TRUCKS_STILL, (698, 194, 877, 382), "truck", (4, 3, 175, 183))
# The dark car far up the street: car 0.39 at (934, 164, 986, 210). Small; scaled up it reads as truck.
CAR_DARK = Sprite("car_dark", TRUCKS_STILL, (928, 158, 992, 216), "car", (6, 6, 58, 52))
# Geranium planter on the café terrace (bottom left): `potted plant` 0.3-0.7 when pasted on the street.
PLANTER = Sprite("planter_geraniums", TRUCKS_STILL, (325, 535, 390, 600), "potted plant", (2, 8, 58, 65))
# bus.jpg's blue city bus, front view: bus 0.82 at (34, 231, 800, 766); pasted at 0.3-0.4 onto the trucks still
# anywhere on the street it reads as bus 0.58-0.81. The passers-by in front of it come along (people by a bus).
BUS_BLUE = Sprite("bus_blue", BUS_PHOTO, (30, 225, 805, 772), "bus", (4, 6, 770, 541))
# bus.jpg's passers-by, person 0.90 at (50, 398, 244, 903) and 0.90 at (221, 408, 343, 856); cut out with
# GrabCut because the bus stands behind them.
PERSON_COAT = Sprite("person_coat", BUS_PHOTO, (40, 388, 254, 913), "person", (10, 10, 204, 515), mask="grabcut")
PERSON_DARK = Sprite("person_dark", BUS_PHOTO, (211, 398, 353, 866), "person", (10, 10, 132, 458), mask="grabcut")

# bus.jpg's dark-jacket passer-by mirrored: a second walker, the one whose GrabCut silhouette keeps its legs (the
# coat's ends at the hem), so a cast shadow meets its feet.
PERSON_DARK_MIRRORED = Sprite(
    "person_dark_mirrored", BUS_PHOTO, (211, 398, 353, 866), "person", (10, 10, 132, 458), mask="grabcut", flip=True
)

# ---- goods the model does not name (class static_object)
# Verified with yolov8n-coco-int8-640.onnx (conf 0.25, bus -> truck), each pasted alone on the trucks still at
# 20 ground spots in shop-a's and shop-b's frontages at scales 0.8, 1.0 and 1.2: no box of any class covered
# more than 20 % of its object box, except where noted. The test renders the GOODS scenarios' own frames.
# The furled café parasol at the right of the trucks still's terrace, cut out with GrabCut (its pole goes with
# the dark paving): never boxed. The other parasol of that terrace reads as person 0.28-0.51 at a quarter of
# the spots (a tall pale figure), so it is not used.
PARASOL = Sprite("parasol_furled", TRUCKS_STILL, (313, 561, 349, 657), STATIC_OBJECT, (4, 6, 32, 89), mask="grabcut")
PARASOL_MIRRORED = Sprite(
    "parasol_furled_mirrored", TRUCKS_STILL, (313, 561, 349, 657), STATIC_OBJECT, (4, 6, 32, 89), mask="grabcut",
    flip=True,
)  # fmt: skip
# The red-and-white stand on the pavement of the pedestrians still (a crate-sized box on feet, as market stalls
# and shops set out): never boxed at 0.8 and 1.0; at 1.2 once car 0.30 (at 1010, 548), so it stays at 1.0 there.
# GrabCut loses it against the pale paving, so it keeps a soft-edged rectangle (paving of the same grey).
STAND = Sprite("stand_red_white", PEDESTRIANS_STILL, (762, 412, 808, 461), STATIC_OBJECT, (3, 4, 45, 46))
# The barrier board of the night still, lit by the shop windows: a dim rack-sized board on the sunny street, cut
# out with GrabCut (its silhouette fills the object box but its left 13 and bottom 8 px). Never boxed at 0.7-1.0;
# at 0.6 once car 0.26. As a soft rectangle (its night surround along) it read as truck at 6 of 20 spots.
BOARD = Sprite("board_dim", NIGHT_SHOPFRONT_STILL, (524, 454, 606, 532), STATIC_OBJECT, (4, 4, 78, 74), mask="grabcut")

GOODS_SPRITES = (PARASOL, PARASOL_MIRRORED, STAND, BOARD)

SPRITES: dict[str, Sprite] = {
    s.name: s
    for s in (
        VAN_WHITE,
        VAN_WHITE_MIRRORED,
        TRUCK_GREEN,
        CAR_DARK,
        BUS_BLUE,
        PLANTER,
        PERSON_COAT,
        PERSON_DARK,
        PERSON_DARK_MIRRORED,
        *GOODS_SPRITES,
    )
}
