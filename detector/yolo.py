"""The YOLO detector: ultralytics on .pt or exported (.onnx, OpenVINO) weights, batched over frames."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.types import Detection
from frontage.config import DetectorConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnnxMetadata:
    names: list[str] | None
    imgsz: int | None


def onnx_metadata(path: str | Path) -> OnnxMetadata:
    """Class names and input size an ultralytics ONNX export carries; empty fields when it carries none.

    Read with `onnx` from the file's metadata alone: no inference session is built just to look."""
    import ast

    import onnx

    try:
        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception:  # not readable as ONNX: let the model loader report it
        return OnnxMetadata(None, None)
    names = imgsz = None
    with contextlib.suppress(ValueError, SyntaxError, AttributeError):
        names = list(ast.literal_eval(props["names"]).values()) if "names" in props else None
    with contextlib.suppress(ValueError):
        nums = [int(x) for x in props.get("imgsz", "").strip("[]").split(",") if x.strip()]
        imgsz = nums[0] if nums else None
    return OnnxMetadata(names, imgsz)


class YoloDetector:
    """Runs the model on frames and returns rule-facing detections (class names after the class map)."""

    def __init__(self, cfg: DetectorConfig, weights: str, keep_classes: set[str] | None = None):
        from ultralytics import YOLO  # heavy import, kept off the config/JSONL paths

        path = Path(weights)
        if path.suffix in {".onnx", ".engine", ".xml"} or path.is_dir():
            self.model = YOLO(weights, task="detect")
        else:
            self.model = YOLO(weights)
        self.cfg = cfg
        self.weights = weights
        self.names: dict[int, str] = dict(self.model.names)
        self._keep = keep_classes
        # Exported models take a fixed input size; honour it over the config.
        self.imgsz = int(getattr(self.model, "overrides", {}).get("imgsz") or cfg.imgsz)
        if path.suffix == ".onnx":
            self.imgsz = onnx_metadata(path).imgsz or self.imgsz
        self.batchable = path.suffix == ".pt"  # exported graphs here have a fixed batch of 1

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """One model call for a batch of BGR frames. Exported files with a fixed batch of 1 (like the shared
        ONNX models) run the frames one after another.

        NMS is class-agnostic: the model often boxes one van as both bus and truck, and two boxes for one
        object would open two cases."""
        if not images:
            return []
        kw = {"imgsz": self.imgsz, "conf": self.cfg.conf, "iou": self.cfg.iou, "agnostic_nms": True, "verbose": False}
        if self.batchable:
            return [self._to_detections(r) for r in self.model.predict(list(images), **kw)]
        return [self._to_detections(self.model.predict(img, **kw)[0]) for img in images]

    def _to_detections(self, res) -> list[Detection]:
        boxes = res.boxes
        xyxy = boxes.xyxy.cpu().numpy() if hasattr(boxes.xyxy, "cpu") else np.asarray(boxes.xyxy)
        conf = boxes.conf.cpu().numpy() if hasattr(boxes.conf, "cpu") else np.asarray(boxes.conf)
        cls = boxes.cls.cpu().numpy() if hasattr(boxes.cls, "cpu") else np.asarray(boxes.cls)
        dets = []
        for b, c, k in zip(xyxy, conf, cls, strict=True):
            name = self.names.get(int(k), str(int(k)))
            name = self.cfg.class_map.get(name, name)
            if self._keep is not None and name not in self._keep:
                continue
            dets.append(Detection(name, float(c), (float(b[0]), float(b[1]), float(b[2]), float(b[3]))))
        return dets
