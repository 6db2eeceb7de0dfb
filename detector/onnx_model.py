"""YOLOv8 ONNX exports on ONNX Runtime directly: letterbox, one session call, agnostic NMS, in numpy and OpenCV.

Why not through ultralytics: on a 2-core box its ONNX backend leaves ONNX Runtime's worker threads spinning
between calls, which on this machine burnt ~100 ms of CPU per 100 ms inference, CPU the stream readers need
(`python -m bench.backends` measures it). This path turns spinning off, batches when the graph's batch axis is
dynamic, and does pre- and post-processing the way ultralytics does, so detections match
(`tests/detector/test_onnx_model.py` compares the two on real stills).
"""

from __future__ import annotations

import ast
import contextlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PAD_VALUE = 114  # ultralytics' letterbox grey
MAX_DET = 300
MAX_NMS = 30000  # boxes kept for NMS, best first, as ultralytics does


@dataclass(frozen=True)
class Letterbox:
    """How one frame was fitted into the square model input: scale, then padding left and top."""

    gain: float
    pad_x: float
    pad_y: float


def letterbox(image: np.ndarray, size: int, stride: int | None = None) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio so the longer side is `size`, and pad centred: to size x size
    (ultralytics' LetterBox(auto=False), for graphs of fixed input size), or with `stride` only up to the next
    multiple of it (auto=True, for graphs with free height and width: a 16:9 frame costs 40% less)."""
    h, w = image.shape[:2]
    gain = min(size / h, size / w)
    new_w, new_h = round(w * gain), round(h * gain)
    out_w, out_h = (size, size) if stride is None else (-(-new_w // stride) * stride, -(-new_h // stride) * stride)
    dw, dh = (out_w - new_w) / 2, (out_h - new_h) / 2
    if (w, h) != (new_w, new_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    out = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    # Boxes map back with the unrounded padding, as ultralytics' scale_boxes does.
    return out, Letterbox(gain, round((out_w - w * gain) / 2 - 0.1), round((out_h - h * gain) / 2 - 0.1))


def to_blob(images: Sequence[np.ndarray]) -> np.ndarray:
    """BGR HWC uint8 frames -> RGB NCHW float32 in [0, 1]."""
    batch = np.stack(images)[..., ::-1].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32) / 255.0


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression over xyxy boxes, best score first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def decode(output: np.ndarray, box: Letterbox, shape: tuple[int, int], conf: float, iou: float) -> np.ndarray:
    """One image's raw head output (4 + classes, anchors) -> rows of x1, y1, x2, y2, score, class in frame
    pixels, after class-agnostic NMS."""
    pred = output.T  # (anchors, 4 + classes)
    scores_all = pred[:, 4:]
    cls = scores_all.argmax(axis=1)
    scores = scores_all[np.arange(len(cls)), cls]
    mask = scores > conf
    pred, cls, scores = pred[mask], cls[mask], scores[mask]
    if not len(scores):
        return np.zeros((0, 6), dtype=np.float32)
    if len(scores) > MAX_NMS:
        top = np.argsort(-scores)[:MAX_NMS]
        pred, cls, scores = pred[top], cls[top], scores[top]
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keep = nms(xyxy, scores, iou)[:MAX_DET]
    xyxy, scores, cls = xyxy[keep], scores[keep], cls[keep]
    xyxy[:, [0, 2]] = ((xyxy[:, [0, 2]] - box.pad_x) / box.gain).clip(0, shape[1])
    xyxy[:, [1, 3]] = ((xyxy[:, [1, 3]] - box.pad_y) / box.gain).clip(0, shape[0])
    return np.concatenate([xyxy, scores[:, None], cls[:, None].astype(np.float32)], axis=1).astype(np.float32)


@dataclass(frozen=True)
class OnnxMetadata:
    names: list[str] | None
    imgsz: int | None
    stride: int = 32


def onnx_metadata(path: str | Path) -> OnnxMetadata:
    """Class names and input size an ultralytics ONNX export carries; empty fields when it carries none.

    Read with `onnx` from the file's metadata alone: no inference session is built just to look."""
    import onnx

    try:
        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception:  # not readable as ONNX: let the model loader report it
        return OnnxMetadata(None, None)
    names = imgsz = None
    stride = int(props["stride"]) if props.get("stride", "").isdigit() else 32
    with contextlib.suppress(ValueError, SyntaxError, AttributeError):
        names = list(ast.literal_eval(props["names"]).values()) if "names" in props else None
    with contextlib.suppress(ValueError):
        nums = [int(x) for x in props.get("imgsz", "").strip("[]").split(",") if x.strip()]
        imgsz = nums[0] if nums else None
    return OnnxMetadata(names, imgsz, stride)


class OnnxYolo:
    """A YOLOv8 detection export (output `(batch, 4 + classes, anchors)`) on ONNX Runtime's CPU provider."""

    def __init__(self, path: str | Path, threads: int = 0, imgsz: int = 640):
        import onnxruntime as ort

        self.threads = threads or (os.cpu_count() or 1)

        def session(intra: int) -> ort.InferenceSession:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = intra
            opts.inter_op_num_threads = 1
            # Idle workers must sleep, not spin: the readers and the rules share these cores.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

        self.session = session(self.threads)  # one frame at a time: every thread works on it
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        batch, _, height, width = inp.shape
        meta = onnx_metadata(path)
        if isinstance(height, int) and isinstance(width, int):
            if height != width:
                raise ValueError(f"{path}: expected a square input, got {inp.shape}")
            self.imgsz, self.stride = height, None
        else:  # free height and width: the longer side at the exported size, the other padded to the stride
            self.imgsz, self.stride = meta.imgsz or imgsz, meta.stride
        self.batchable = not isinstance(batch, int)  # a symbolic batch axis takes many frames in one call
        classes = self.session.get_outputs()[0].shape[1]
        n = classes - 4 if isinstance(classes, int) else 0
        self.names: dict[int, str] = dict(enumerate(meta.names or [str(i) for i in range(n)]))
        # Frames side by side: one single-threaded call per frame, so the threads never outnumber the cores.
        self._single = session(1) if self.threads > 1 and not self.batchable else self.session
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="onnx")

    def predict(self, images: Sequence[np.ndarray], conf: float, iou: float) -> list[np.ndarray]:
        """Detections per frame as (n, 6) arrays: x1, y1, x2, y2, score, class id.

        A dynamic batch axis takes all frames in one call. A fixed batch of 1 runs the frames side by side, one
        session call per worker thread: small convolutions parallelise poorly inside one call, so this gets
        more frames per second from the same cores (`python -m bench.backends`)."""
        if self.batchable and len({img.shape for img in images}) == 1:  # one batch needs one input size
            fitted = [letterbox(img, self.imgsz, self.stride) for img in images]
            raw = self.session.run(None, {self.input_name: to_blob([img for img, _ in fitted])})[0]
            return [decode(raw[k], box, img.shape[:2], conf, iou) for k, ((_, box), img) in
                    enumerate(zip(fitted, images, strict=True))]  # fmt: skip
        if len(images) == 1:  # on a worker too, so the CPU it takes shows as inference (frontage/threadcpu.py)
            return [self._pool.submit(self._one, images[0], conf, iou, self.session).result()]
        return list(self._pool.map(lambda img: self._one(img, conf, iou, self._single), images))

    def _one(self, image: np.ndarray, conf: float, iou: float, session) -> np.ndarray:
        fitted, box = letterbox(image, self.imgsz, self.stride)
        raw = session.run(None, {self.input_name: to_blob([fitted])})[0]
        return decode(raw[0], box, image.shape[:2], conf, iou)
