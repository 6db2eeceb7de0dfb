"""The YOLO detector: .onnx weights on ONNX Runtime directly, .pt and OpenVINO through ultralytics."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from detector.types import Detection
from frontage.config import DetectorConfig

log = logging.getLogger(__name__)


class YoloDetector:
    """Runs the model on frames and returns rule-facing detections (class names after the class map).

    The weights file picks the backend: an `.onnx` export runs on ONNX Runtime directly (`OnnxYolo`, the edge
    box's path); `.pt` files and other exports (OpenVINO folders, TensorRT engines) go through ultralytics."""

    def __init__(self, cfg: DetectorConfig, weights: str, keep_classes: set[str] | None = None):
        path = Path(weights)
        self.cfg = cfg
        self.weights = weights
        self._keep = keep_classes
        self.onnx = None
        self.model = None
        if path.suffix == ".onnx":
            from detector.onnx_model import OnnxYolo

            self.onnx = OnnxYolo(path, cfg.threads, cfg.imgsz)
            self.names: dict[int, str] = self.onnx.names
            self.imgsz = self.onnx.imgsz  # exported graphs take a fixed input size; it wins over the config
            self.batchable = self.onnx.batchable
            self.backend = "onnxruntime"
            return
        from ultralytics import YOLO  # heavy import, kept off the config/JSONL paths

        exported = path.suffix in {".engine", ".xml"} or path.is_dir()
        self.model = YOLO(weights, task="detect") if exported else YOLO(weights)
        self.names = dict(self.model.names)
        self.imgsz = int(getattr(self.model, "overrides", {}).get("imgsz") or cfg.imgsz)
        self.batchable = not exported  # exports here have a fixed batch of 1
        self.backend = "ultralytics"

    def keeping(self, classes: set[str]) -> YoloDetector:
        """The same loaded model, reporting only `classes` (a shallow copy: no second model in memory)."""
        other = copy.copy(self)
        other._keep = set(classes)
        return other

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """One model call for a batch of BGR frames. Graphs with a fixed batch of 1, like the shared ONNX
        models, run the frames side by side on ONNX Runtime, one after another through ultralytics.

        NMS is class-agnostic: the model often boxes one van as both bus and truck, and two boxes for one
        object would open two cases."""
        if not images:
            return []
        if self.onnx is not None:
            return [self._to_detections(rows) for rows in self.onnx.predict(images, self.cfg.conf, self.cfg.iou)]
        kw = {"imgsz": self.imgsz, "conf": self.cfg.conf, "iou": self.cfg.iou, "agnostic_nms": True, "verbose": False}
        if self.batchable:
            results = self.model.predict(list(images), **kw)
        else:
            results = [self.model.predict(img, **kw)[0] for img in images]
        return [self._to_detections(_rows(r)) for r in results]

    def _to_detections(self, rows: np.ndarray) -> list[Detection]:
        dets = []
        for x1, y1, x2, y2, c, k in rows.tolist():
            name = self.names.get(int(k), str(int(k)))
            name = self.cfg.class_map.get(name, name)
            if self._keep is not None and name not in self._keep:
                continue
            dets.append(Detection(name, float(c), (x1, y1, x2, y2)))
        return dets


def _rows(result) -> np.ndarray:
    """An ultralytics result's boxes as (n, 6) rows: x1, y1, x2, y2, score, class id."""
    b = result.boxes
    cols = [b.xyxy, b.conf[:, None], b.cls[:, None]]
    return np.concatenate([c.cpu().numpy() if hasattr(c, "cpu") else np.asarray(c) for c in cols], axis=1)
