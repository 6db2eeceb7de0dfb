"""Evidence snapshots: the frame, the frontage polygon, the object's box and its dwell, as a JPEG; and what a case
keeps beside it to redact it for each audience later (the unannotated original and the boxes on it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from detector.types import Detection
from frontage.config import Config

RED, YELLOW, WHITE, BLACK = (0, 0, 255), (0, 220, 255), (255, 255, 255), (0, 0, 0)


def draw_evidence(
    image: np.ndarray,
    polygon: Sequence[tuple[float, float]],
    box: tuple[float, float, float, float] | None,
    lines: Sequence[str],
    others: Sequence[tuple[float, float, float, float]] = (),
) -> np.ndarray:
    """Return an annotated copy; the caller's frame is never drawn on. `others`: the case's other objects (all
    goods set out at one shop are one case). No polygon, no box: that part is not drawn."""
    out = image.copy()
    if len(polygon) >= 3:
        pts = np.array(polygon, dtype=np.int32).reshape(-1, 1, 2)
        overlay = out.copy()
        cv2.fillPoly(overlay, [pts], YELLOW)
        cv2.addWeighted(overlay, 0.18, out, 0.82, 0, dst=out)
        cv2.polylines(out, [pts], isClosed=True, color=YELLOW, thickness=2, lineType=cv2.LINE_AA)
    for b in (*others, *([box] if box is not None else [])):
        x1, y1, x2, y2 = (int(round(v)) for v in b)
        cv2.rectangle(out, (x1, y1), (x2, y2), RED, 3)
    scale = max(0.5, out.shape[0] / 1100)
    y = int(28 * scale / 0.65)
    for text in lines:
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        cv2.rectangle(out, (8, y - h - 6), (16 + w, y + base + 2), BLACK, -1)
        cv2.putText(out, text, (12, y), cv2.FONT_HERSHEY_SIMPLEX, scale, WHITE, 2, cv2.LINE_AA)
        y += h + base + 12
    return out


def write_jpeg(path: Path, image: np.ndarray, quality: int = 85) -> Path:
    """Write atomically: a reader (the review page) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"JPEG encoding failed for {path}")
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.tobytes())
    tmp.replace(path)
    return path


def blur_boxes(image: np.ndarray, boxes: Sequence[tuple[float, float, float, float]], margin: float = 0.15) -> None:
    """Make people unrecognisable in place: each box, grown by `margin` of its size, is pixelated to about
    eight blocks across and then smoothed, so neither a face nor clothing's detail survives."""
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in boxes:
        mx, my = (x2 - x1) * margin, (y2 - y1) * margin
        a, b = max(0, int(x1 - mx)), max(0, int(y1 - my))
        c, d = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
        if c - a < 2 or d - b < 2:
            continue
        region = image[b:d, a:c]
        small = cv2.resize(region, (max(1, (c - a) // 16), max(1, (d - b) // 16)), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (c - a, d - b), interpolation=cv2.INTER_LINEAR)
        k = max(3, ((min(c - a, d - b) // 6) | 1))
        image[b:d, a:c] = cv2.GaussianBlur(coarse, (k, k), 0)


def public_view(
    image: np.ndarray,
    person_boxes: Sequence[tuple[float, float, float, float]],
    polygons: Sequence[Sequence[tuple[float, float]]],
    quality: int = 80,
) -> bytes:
    """A frame fit for a public page, as JPEG bytes: people blurred, the frontage polygons drawn. The caller's
    frame is never changed."""
    out = image.copy()
    blur_boxes(out, person_boxes)
    if polygons:
        pts = [np.array(p, dtype=np.int32).reshape(-1, 1, 2) for p in polygons]
        overlay = out.copy()
        cv2.fillPoly(overlay, pts, YELLOW)
        cv2.addWeighted(overlay, 0.18, out, 0.82, 0, dst=out)
        cv2.polylines(out, pts, isClosed=True, color=YELLOW, thickness=2, lineType=cv2.LINE_AA)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


# --- what a case keeps to redact its evidence later (dispatch.privacy) ------------------------------------------

PERSON_CLASSES = ("person",)
# Vehicles that may carry a plate: China's e-bikes have plates too, and COCO calls them motorcycle or bicycle.
PLATED_CLASSES = ("car", "truck", "bus", "motorcycle", "bicycle")


def privacy_classes(cfg: Config) -> tuple[frozenset[str], frozenset[str]]:
    """The rule-facing names (after the class map) of people and of vehicles that may carry a plate; the parking
    rule's own classes count as vehicles."""
    m = cfg.detector.class_map
    people = frozenset(m.get(c, c) for c in PERSON_CLASSES)
    vehicles = frozenset(m.get(c, c) for c in PLATED_CLASSES) | frozenset(cfg.rules.illegal_parking.classes)
    return people, vehicles - people


def privacy_finder(detector, cfg: Config) -> Callable[[np.ndarray], list[Detection]] | None:
    """None when the detector already reports people and vehicles (the frame's detections are enough), else a
    function that asks the same loaded model (`detector.keeping`, no second model in memory) for the classes the
    rules do not watch: one extra model call per case opened, never per frame."""
    people, vehicles = privacy_classes(cfg)
    missing = (people | vehicles) - cfg.rule_classes()
    if not missing:
        return None
    only = detector.keeping(set(missing))
    return lambda image: list(only.detect([image])[0])


def boxes_of(detections: Sequence[Detection], classes: frozenset[str]) -> list[list[float]]:
    return [[round(float(v), 1) for v in d.xyxy] for d in detections if d.cls in classes]


def evidence_record(
    original: str,
    size: tuple[int, int],
    subjects: Sequence[Sequence[float]],
    people: list[list[float]] | None,
    vehicles: list[list[float]] | None,
    polygon: Sequence[tuple[float, float]],
    lines: Sequence[str],
) -> dict:
    """The JSON kept in cases.evidence. `people` / `vehicles` None: nobody looked for them on this frame."""
    return {
        "original": original,
        "size": [int(size[0]), int(size[1])],
        "subjects": [[round(float(v), 1) for v in b] for b in subjects],
        "people": people,
        "vehicles": vehicles,
        "polygon": [[float(x), float(y)] for x, y in polygon],
        "lines": list(lines),
    }


def evidence_file(stored: str, root: Path) -> Path | None:
    """The stored path if it lies inside the snapshot folder (symlinks resolved) and is a file, else None: a
    path in the store never reaches outside the folder, neither to be served nor to be deleted."""
    if not stored:
        return None
    root = root.resolve()
    given = Path(stored)
    candidates = ([given] if given.is_absolute() else []) + [root / given, root / given.name]
    for candidate in candidates:
        try:
            real = candidate.resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if real.is_relative_to(root) and real.is_file():
            return real
    return None
